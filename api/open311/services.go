package open311

import (
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/gin-gonic/gin"

	"github.com/fieldgate/fieldgate/routing"
)

// serviceJSON is one entry of GET services (GeoReport v2 "GET Service
// List"); the XML element order is the spec's.
type serviceJSON struct {
	XMLName     xml.Name `xml:"service" json:"-"`
	ServiceCode string   `xml:"service_code" json:"service_code"`
	ServiceName string   `xml:"service_name" json:"service_name"`
	Description string   `xml:"description" json:"description"`
	Metadata    bool     `xml:"metadata" json:"metadata"`
	Type        string   `xml:"type" json:"type"`
	Keywords    string   `xml:"keywords" json:"keywords"`
	Group       string   `xml:"group" json:"group"`
}

type servicesXML struct {
	XMLName  xml.Name      `xml:"services"`
	Services []serviceJSON `xml:"service"`
}

// services answers GET services: every published address. fieldgate
// assigns the case number while the request is filed, so every service
// is "realtime".
func (h *Handler) services(c *gin.Context, f format) {
	list := []serviceJSON{}
	for _, a := range published(h.rules.Current()) {
		s := a.Open311
		list = append(list, serviceJSON{
			ServiceCode: s.Code, ServiceName: a.DisplayName, Description: a.Description,
			Metadata: len(s.Attributes) > 0, Type: "realtime",
			Keywords: strings.Join(s.Keywords, ", "), Group: s.Group,
		})
	}
	write(c, f, http.StatusOK, servicesXML{Services: list}, list)
}

type valueJSON struct {
	XMLName xml.Name `xml:"value" json:"-"`
	Key     string   `xml:"key" json:"key"`
	Name    string   `xml:"name" json:"name"`
}

type attributeJSON struct {
	XMLName             xml.Name    `xml:"attribute" json:"-"`
	Variable            bool        `xml:"variable" json:"variable"`
	Code                string      `xml:"code" json:"code"`
	Datatype            string      `xml:"datatype" json:"datatype"`
	Required            bool        `xml:"required" json:"required"`
	DatatypeDescription optString   `xml:"datatype_description" json:"datatype_description"`
	Order               int         `xml:"order" json:"order"`
	Description         string      `xml:"description" json:"description"`
	Values              []valueJSON `xml:"values>value" json:"values,omitempty"`
}

type definitionJSON struct {
	XMLName     xml.Name        `xml:"service_definition" json:"-"`
	ServiceCode string          `xml:"service_code" json:"service_code"`
	Attributes  []attributeJSON `xml:"attributes>attribute" json:"attributes"`
}

// serviceDefinition answers GET services/{code} (GeoReport v2 "GET
// Service Definition").
func (h *Handler) serviceDefinition(c *gin.Context, f format, code string) {
	a, ok := service(h.rules.Current(), code)
	if !ok {
		h.fail(c, f, http.StatusNotFound, func(t msg.Texts) string { return t.Open311UnknownService(code) })
		return
	}
	write(c, f, http.StatusOK, definition(a.Open311), nil)
}

func definition(s *routing.Open311Service) definitionJSON {
	d := definitionJSON{ServiceCode: s.Code, Attributes: []attributeJSON{}}
	for _, at := range s.Attributes {
		aj := attributeJSON{Variable: true, Code: at.Code, Datatype: at.Datatype, Required: at.Required,
			DatatypeDescription: optString(at.DatatypeDescription), Order: at.Order, Description: at.Description}
		for _, v := range at.Values {
			aj.Values = append(aj.Values, valueJSON{Key: v.Key, Name: v.Name})
		}
		d.Attributes = append(d.Attributes, aj)
	}
	return d
}

// discovery answers GET /open311/discovery.json (Open311 Service
// Discovery): one production GeoReport v2 endpoint in XML and JSON.
func (h *Handler) discovery(c *gin.Context) {
	base := strings.TrimSuffix(h.cfg.BaseURL, "/")
	if base == "" {
		// Behind the TLS proxy the operations guide sets up (deploy/nginx:
		// X-Forwarded-Proto https), the endpoint is https: advertising
		// http sent clients' api_key and personal data in clear text.
		// A URL made from the request is its own: no cache may keep it
		// for others (a Host of an attacker's choosing).
		scheme := "http"
		if c.Request.TLS != nil || strings.EqualFold(c.GetHeader("X-Forwarded-Proto"), "https") {
			scheme = "https"
		}
		base = scheme + "://" + c.Request.Host
		c.Header("Cache-Control", "no-store")
	}
	changeset := h.datetime(h.rules.Current().LoadedAt())
	c.JSON(http.StatusOK, gin.H{
		"changeset":   changeset,
		"contact":     h.cfg.Contact,
		"key_service": h.cfg.KeyService,
		"endpoints": []gin.H{{
			"specification": "http://wiki.open311.org/GeoReport_v2",
			"url":           base + "/open311/v2",
			"changeset":     changeset,
			"type":          "production",
			"formats":       []string{"text/xml", "application/json"},
		}},
	})
}
