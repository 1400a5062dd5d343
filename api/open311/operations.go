package open311

import (
	"net/http"

	"github.com/fieldgate/fieldgate/api"
)

// Operations documents the Open311 routes for the OpenAPI document
// (api.Config.ExtraOperations). Bodies are described, not typed: each
// route answers in XML or JSON by its extension.
func Operations() []api.Operation {
	spec := " (GeoReport v2, wiki.open311.org/GeoReport_v2; see docs/open311.md). Errors: a list of {code, description} in the same format."
	reqQuery := [][2]string{
		{"service_request_id", "case numbers, comma-separated (at most 100)"}, {"service_code", "service codes, comma-separated"},
		{"start_date", "ISO 8601 with zone"}, {"end_date", "ISO 8601 with zone"}, {"status", "open, closed or both"},
		{"updated_after", "ISO 8601 with zone (extension)"}, {"page", "1-based (extension)"}, {"page_size", "1-1000, default 50 (extension)"},
		{"lat", "WGS 84 latitude, with long and radius (extension)"}, {"long", "WGS 84 longitude"}, {"radius", "metres, at most 50000"},
		{"agency_responsible", "team name (extension)"}, {"extensions", "true adds the CitySDK extended_attributes"},
		{"jurisdiction_id", "must match open311.jurisdiction_id when that is set"},
	}
	postForm := "api_key (a reporter token), service_code, lat+long or address_string, description, attribute[code] per the service definition, " +
		"media_url (allow-listed hosts only), media (multipart files, after api_key), email/phone/first_name/last_name (dropped unless open311.store_contact)"
	var ops []api.Operation
	for _, f := range []string{"xml", "json"} {
		typ := map[string]string{"xml": "text/xml", "json": "application/json"}[f]
		ops = append(ops,
			api.Operation{Method: "GET", Path: "/open311/v2/services." + f, Tag: "open311", Public: true, ResponseType: typ,
				Summary: "Service list: the function addresses the town publishes", Description: "GET Service List" + spec},
			api.Operation{Method: "POST", Path: "/open311/v2/requests." + f, Tag: "open311", Public: true, ResponseType: typ, Status: http.StatusCreated,
				Summary: "File a service request; answers its service_request_id (the case number)", Description: "POST Service Request" + spec, Form: postForm},
			api.Operation{Method: "GET", Path: "/open311/v2/requests." + f, Tag: "open311", Public: true, ResponseType: typ,
				Summary: "Service requests with their status and the team's public answers", Description: "GET Service Requests" + spec, Query: reqQuery},
		)
	}
	return append(ops,
		api.Operation{Method: "GET", Path: "/open311/discovery.json", Tag: "open311", Public: true, ResponseType: "application/json",
			Summary: "Open311 service discovery", Description: "wiki.open311.org/Service_Discovery"},
		api.Operation{Method: "GET", Path: "/open311/v2/services/:file", Tag: "open311", Public: true, ResponseType: "text/xml",
			Summary: "Service definition: file is {service_code}.xml or .json", Description: "GET Service Definition" + spec},
		api.Operation{Method: "GET", Path: "/open311/v2/requests/:file", Tag: "open311", Public: true, ResponseType: "text/xml",
			Summary: "One service request: file is {case number}.xml or .json", Description: "GET Service Request" + spec},
		api.Operation{Method: "GET", Path: "/open311/v2/:file", Tag: "open311", Public: true, ResponseType: "text/xml", Status: http.StatusNotFound,
			Summary: "Any other resource: the spec's 404 error list"},
		api.Operation{Method: "POST", Path: "/open311/v2/:file", Tag: "open311", Public: true, ResponseType: "text/xml", Status: http.StatusNotFound,
			Summary: "Any other resource: the spec's 404 error list"},
		api.Operation{Method: "GET", Path: "/open311/v2/tokens/:file", Tag: "open311", Public: true, ResponseType: "text/xml",
			Summary: "The service_request_id of a token: file is {token}.xml or .json", Description: "GET request_id from a token" + spec},
	)
}
