package open311

import (
	"strings"

	"github.com/gin-gonic/gin"
)

// lang picks de or en from Accept-Language; German is the default.
func lang(c *gin.Context) string {
	al := strings.ToLower(c.GetHeader("Accept-Language"))
	if strings.HasPrefix(al, "en") {
		return "en"
	}
	return "de"
}
