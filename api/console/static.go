package console

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"
)

// web holds the page, its script and styles, and the vendored Leaflet
// files that `make console` copies from npm into web/static/vendor/.
//
//go:embed web/static
var web embed.FS

var staticFS = func() fs.FS {
	sub, err := fs.Sub(web, "web/static")
	if err != nil {
		panic(err)
	}
	return sub
}()

// contentSecurityPolicy keeps every request of the page on this origin
// (img-src also allows the optional tile server and presigned S3 links).
func (c *Console) contentSecurityPolicy() string {
	img := "'self' data: blob: https: http:"
	return "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src " + img +
		"; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self' " + c.cfg.OIDC.Issuer
}

func (c *Console) page(g *gin.Context) {
	data, err := fs.ReadFile(staticFS, "index.html")
	if err != nil {
		g.String(http.StatusInternalServerError, "console not built")
		return
	}
	g.Header("Content-Security-Policy", c.contentSecurityPolicy())
	g.Header("X-Content-Type-Options", "nosniff")
	g.Header("Referrer-Policy", "same-origin")
	g.Header("Cache-Control", "no-cache")
	g.Data(http.StatusOK, "text/html; charset=utf-8", data)
}

func (c *Console) static(g *gin.Context) {
	name := strings.TrimPrefix(path.Clean("/"+g.Param("file")), "/")
	if name == "" || strings.HasPrefix(path.Base(name), ".") {
		g.Status(http.StatusNotFound)
		return
	}
	g.Header("X-Content-Type-Options", "nosniff")
	g.Header("Cache-Control", "no-cache")
	g.FileFromFS(name, http.FS(staticFS))
}
