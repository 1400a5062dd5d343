package open311

import (
	"github.com/gin-gonic/gin"

	"github.com/fieldgate/fieldgate/internal/msg"
)

// lang is the language of a description: the best match of
// Accept-Language among German and English, German by default.
func lang(c *gin.Context) string {
	return msg.NegotiateHTTP(c.Request.Header, c.Writer.Header(), "de")
}
