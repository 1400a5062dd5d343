package gateway

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// nsHTTPUpload is XEP-0363 HTTP File Upload (version 0.3 and later).
const nsHTTPUpload = "urn:xmpp:http:upload:0"

// errUploadRefused marks an upload that will fail again unchanged: no
// upload service, a refusal by it (forbidden, file too large), a PUT URL
// off the allow-list. A post does not wait for it; everything else
// (time-outs, 5xx) is retried with the post.
var errUploadRefused = errors.New("gateway: HTTP upload refused")

// uploadRequest asks for a slot (XEP-0363 §4). The file name is ours
// (random, with the type's extension, which clients use to show an
// image); the size is the ciphertext's.
type uploadRequest struct {
	XMLName     xml.Name `xml:"urn:xmpp:http:upload:0 request"`
	Filename    string   `xml:"filename,attr"`
	Size        int64    `xml:"size,attr"`
	ContentType string   `xml:"content-type,attr,omitempty"`
}

// uploadSlot is a slot: where to PUT, with which headers, and where the
// file can be downloaded from afterwards.
type uploadSlot struct {
	PutURL string
	Header http.Header
	GetURL string
}

// parseSlot reads the <slot/> of a slot request's result (XEP-0363 §4).
// Only the headers the XEP allows are kept (Authorization, Cookie,
// Expires), with newlines removed (§4: the client MUST strip them).
func parseSlot(inner []byte) (uploadSlot, error) {
	var res struct {
		Slot *struct {
			Put struct {
				URL     string `xml:"url,attr"`
				Headers []struct {
					Name  string `xml:"name,attr"`
					Value string `xml:",chardata"`
				} `xml:"header"`
			} `xml:"put"`
			Get struct {
				URL string `xml:"url,attr"`
			} `xml:"get"`
		} `xml:"urn:xmpp:http:upload:0 slot"`
	}
	if err := xml.Unmarshal(append(append([]byte("<iq>"), inner...), "</iq>"...), &res); err != nil {
		return uploadSlot{}, fmt.Errorf("upload slot: %w", err)
	}
	if res.Slot == nil || res.Slot.Put.URL == "" || res.Slot.Get.URL == "" {
		return uploadSlot{}, fmt.Errorf("%w: the answer has no slot with put and get URLs", errUploadRefused)
	}
	s := uploadSlot{PutURL: res.Slot.Put.URL, GetURL: res.Slot.Get.URL, Header: http.Header{}}
	for _, h := range res.Slot.Put.Headers {
		name := http.CanonicalHeaderKey(strings.TrimSpace(h.Name))
		switch name {
		case "Authorization", "Cookie", "Expires":
			s.Header.Set(name, strings.NewReplacer("\r", "", "\n", "").Replace(strings.TrimSpace(h.Value)))
		}
	}
	return s, nil
}

// requestSlot asks the upload service for a slot, as the component.
func (g *Gateway) requestSlot(ctx context.Context, service, filename string, size int64, contentType string) (uploadSlot, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	r, err := g.request(ctx, service, "get", uploadRequest{Filename: filename, Size: size, ContentType: contentType})
	var refused *iqFailure
	switch {
	case errors.As(err, &refused) && refused.Cond != "internal-server-error" && refused.Cond != "remote-server-timeout":
		// forbidden (the component is not on the share's access list),
		// not-acceptable (too large), resource-constraint (quota), …
		return uploadSlot{}, fmt.Errorf("%w: %w", errUploadRefused, err)
	case err != nil:
		return uploadSlot{}, fmt.Errorf("upload slot: %w", err)
	}
	return parseSlot(r.Inner)
}

// put uploads body to an XEP-0363 PUT URL, which must be on the fetch
// allow-list (the upload services of trusted domains), as must its GET
// URL, with the slot's headers. A 4xx answer (but 408 and 429) is final.
func (f *Fetcher) put(ctx context.Context, s uploadSlot, contentType string, body []byte) error {
	u, err := f.check(s.PutURL)
	if err != nil {
		return fmt.Errorf("%w: PUT URL: %w (add the upload service to xmpp.upload_hosts)", errUploadRefused, err)
	}
	// Team members' clients download from the GET URL: it must be a host
	// we trust as well, not wherever a slot answer points them.
	if _, err := f.check(s.GetURL); err != nil {
		return fmt.Errorf("%w: GET URL: %w (add the upload service to xmpp.upload_hosts)", errUploadRefused, err)
	}
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: PUT request: %w", errUploadRefused, err)
	}
	for k, v := range s.Header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", contentType)
	req.ContentLength = int64(len(body))
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("PUT to %s: %w", fetchLogURL(u), err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c >= 400 && c < 500 && c != http.StatusRequestTimeout && c != http.StatusTooManyRequests:
		return fmt.Errorf("%w: PUT to %s: %s", errUploadRefused, fetchLogURL(u), resp.Status)
	default:
		return fmt.Errorf("PUT to %s: %s", fetchLogURL(u), resp.Status)
	}
}

// uploadFinder finds the XMPP server's upload service once and keeps the
// answer (a failed search is repeated after a minute).
type uploadFinder struct {
	configured string // xmpp upload service JID from the configuration

	mu    sync.Mutex
	found string
	err   error
	at    time.Time
}

// uploadService returns the JID of the XEP-0363 service the gateway
// uploads to: the configured one, or the item of the XMPP server's
// domain (the component's parent domain) whose disco#info first answers
// with the feature urn:xmpp:http:upload:0 (XEP-0363 §3).
func (g *Gateway) uploadService(ctx context.Context, f *uploadFinder) (string, error) {
	if f.configured != "" {
		return f.configured, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.at.IsZero() && (f.err == nil || time.Since(f.at) < time.Minute) {
		return f.found, f.err
	}
	f.found, f.err = g.discoverUpload(ctx)
	f.at = time.Now()
	return f.found, f.err
}

type discoItemsGet struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/disco#items query"`
}

type discoInfoGet struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/disco#info query"`
}

func (g *Gateway) discoverUpload(ctx context.Context) (string, error) {
	_, server, ok := strings.Cut(g.cfg.Domain, ".")
	if !ok || server == "" {
		return "", fmt.Errorf("%w: no parent domain of %s to search for an upload service", errUploadRefused, g.cfg.Domain)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	r, err := g.request(ctx, server, "get", discoItemsGet{})
	if err != nil {
		return "", fmt.Errorf("disco#items of %s: %w", server, err)
	}
	var items struct {
		Items []struct {
			JID string `xml:"jid,attr"`
		} `xml:"http://jabber.org/protocol/disco#items query>item"`
	}
	if err := xml.Unmarshal(append(append([]byte("<iq>"), r.Inner...), "</iq>"...), &items); err != nil {
		return "", fmt.Errorf("disco#items of %s: %w", server, err)
	}
	// All items are asked at once: a server may list domains that never
	// answer (ejabberd lists every component domain of a listener, and
	// routes those not connected to whichever component is), and one of
	// them must not use up the time for the rest.
	var cands []string
	for _, it := range items.Items {
		if !strings.EqualFold(it.JID, g.cfg.Domain) && len(cands) < 20 {
			cands = append(cands, it.JID)
		}
	}
	answers := make(chan string, len(cands))
	for _, j := range cands {
		go func() {
			r, err := g.request(ctx, j, "get", discoInfoGet{})
			if err != nil || !hasFeature(r.Inner, nsHTTPUpload) {
				j = ""
			}
			answers <- j
		}()
	}
	for range cands {
		if j := <-answers; j != "" {
			return j, nil
		}
	}
	return "", fmt.Errorf("%w: %s lists no service with %s; set omemo.upload_service", errUploadRefused, server, nsHTTPUpload)
}

// hasFeature reports whether a disco#info answer has the feature.
func hasFeature(inner []byte, feature string) bool {
	var info struct {
		Features []struct {
			Var string `xml:"var,attr"`
		} `xml:"http://jabber.org/protocol/disco#info query>feature"`
	}
	if err := xml.Unmarshal(append(append([]byte("<iq>"), inner...), "</iq>"...), &info); err != nil {
		return false
	}
	for _, f := range info.Features {
		if f.Var == feature {
			return true
		}
	}
	return false
}

// extensionFor names a file the way clients recognise its type (they
// decide by the URL's extension whether to show an image).
func extensionFor(contentType string) string {
	switch strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0])) {
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "image/webp":
		return ".webp"
	case "image/gif":
		return ".gif"
	}
	return ".bin"
}
