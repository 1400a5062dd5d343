package api

import (
	"net/http"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/gin-gonic/gin"

	"github.com/fieldgate/fieldgate/dispatch"
)

// mergeBody is the JSON body of POST /api/v1/incidents/{case}/merge.
type mergeBody struct {
	// Into is the case the incident duplicates ("2026-000042" or "42").
	Into string `json:"into"`
}

// mergeIncident marks the case as a duplicate of another (dispatchers).
func (s *Server) mergeIncident(c *gin.Context) {
	inc, ok := s.authorizeIncident(c)
	if !ok {
		return
	}
	var body mergeBody
	if !s.readJSONObject(c, &body, false, msg.Texts.MergeBody) {
		return
	}
	if body.Into == "" {
		problem(c, probInvalid, msg.Texts.MergeBody)
		return
	}
	tok := token(c)
	if into, err := s.disp.Incident(c.Request.Context(), body.Into); err != nil || !mayView(tok, into.Team) {
		s.fail(c, errIncidentNotFound)
		return
	}
	res, err := s.disp.Merge(c.Request.Context(), dispatch.MergeCommand{Ref: inc.CaseNumber, Into: body.Into, Actor: tok.Sender(),
		Via: "api", Dispatcher: tok.Has(dispatch.RoleDispatcher)})
	if err != nil {
		s.fail(c, err)
		return
	}
	out := toIncidentJSON(res.Incident)
	out.Outcome, out.Message = string(res.Outcome), res.Reply.In(clientLanguage(c))
	c.JSON(http.StatusOK, out)
}
