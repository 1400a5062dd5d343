package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/fieldgate/fieldgate/api/open311"
	"github.com/fieldgate/fieldgate/gateway"
)

// newOpen311 builds the Open311 GeoReport v2 endpoint from the config.
func newOpen311(cfg *Config, domain open311.Domain, m open311.Media, rules open311.Rules, loc *time.Location, log *slog.Logger) (*open311.Handler, error) {
	var fetcher open311.Fetcher
	if len(cfg.Open311.MediaURLHosts) > 0 {
		f, err := gateway.NewFetcher(gateway.FetchConfig{Hosts: cfg.Open311.MediaURLHosts, MaxBytes: cfg.XMPP.MaxAttachmentBytes, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("open311.media_url_hosts: %w", err)
		}
		fetcher = f
	}
	return open311.New(domain, m, fetcher, rules, open311.Config{
		JurisdictionID: cfg.Open311.JurisdictionID, BaseURL: cfg.Open311.BaseURL,
		Contact: cfg.Open311.Contact, KeyService: cfg.Open311.KeyService,
		StoreContact: cfg.Open311.StoreContact, PublishDescriptions: cfg.Open311.PublishDescriptions,
		MaxBodyBytes: cfg.HTTP.MaxBodyBytes, MinBodyRate: cfg.HTTP.MinBodyRate, TimeZone: loc,
	}, log), nil
}
