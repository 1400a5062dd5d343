package open311

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strconv"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/gin-gonic/gin"
)

type format string

const (
	formatXML  format = "xml"
	formatJSON format = "json"
)

// write sends v as the spec's XML (with the UTF-8 declaration it requires)
// or as JSON. For JSON, jsonV is sent instead when it is not nil (list
// answers are bare arrays in JSON but wrapped in a root element in XML).
func write(c *gin.Context, f format, status int, xmlV, jsonV any) {
	if f == formatJSON {
		if jsonV == nil {
			jsonV = xmlV
		}
		b, err := json.Marshal(jsonV)
		if err != nil {
			c.AbortWithStatus(http.StatusInternalServerError)
			return
		}
		c.Data(status, "application/json; charset=utf-8", b)
		return
	}
	b, err := xml.MarshalIndent(xmlV, "", "  ")
	if err != nil {
		c.AbortWithStatus(http.StatusInternalServerError)
		return
	}
	c.Data(status, "text/xml; charset=utf-8", append([]byte(xml.Header), b...))
}

// apiError is one entry of the spec's error list.
type apiError struct {
	XMLName     xml.Name `xml:"error" json:"-"`
	Code        int      `xml:"code" json:"code"`
	Description string   `xml:"description" json:"description"`
}

type apiErrors struct {
	XMLName xml.Name   `xml:"errors"`
	Errors  []apiError `xml:"error"`
}

// fail answers with the spec's error list; the description is in the
// caller's language (Accept-Language de or en, default de).
func (h *Handler) fail(c *gin.Context, f format, status int, text msg.Text) {
	e := apiError{Code: status, Description: text.In(lang(c))}
	write(c, f, status, apiErrors{Errors: []apiError{e}}, []apiError{e})
	c.Abort()
}

// optFloat is a number that may be missing: JSON null, an empty XML
// element.
type optFloat struct {
	V   float64
	Set bool
}

func (o optFloat) MarshalJSON() ([]byte, error) {
	if !o.Set {
		return []byte("null"), nil
	}
	return []byte(strconv.FormatFloat(o.V, 'f', -1, 64)), nil
}

func (o optFloat) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	s := ""
	if o.Set {
		s = strconv.FormatFloat(o.V, 'f', -1, 64)
	}
	return e.EncodeElement(s, start)
}

// optString is a text that may be missing: JSON null, an empty XML element.
type optString string

func (o optString) MarshalJSON() ([]byte, error) {
	if o == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(o))
}
