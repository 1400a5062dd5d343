// Package api is fieldgate's HTTP edge: the REST API for phone apps and
// dispatchers, health and metrics. Errors are RFC 9457 problem+json.
package api
