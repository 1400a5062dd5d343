package api

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/gin-gonic/gin"

	"github.com/fieldgate/fieldgate/dispatch"
)

type incidentJSON struct {
	CaseNumber     string     `json:"case_number"`
	State          string     `json:"state"`
	Team           string     `json:"team,omitempty"`
	Priority       string     `json:"priority"`
	District       string     `json:"district,omitempty"`
	Owner          string     `json:"owner,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	ResolvedAt     *time.Time `json:"resolved_at,omitempty"`
	Outcome        string     `json:"outcome,omitempty"`
	Message        string     `json:"message,omitempty"`
}

func toIncidentJSON(i dispatch.Incident) incidentJSON {
	return incidentJSON{CaseNumber: i.CaseNumber, State: string(i.State), Team: i.Team, Priority: i.Priority,
		District: i.District, Owner: i.Owner, CreatedAt: i.CreatedAt, AcknowledgedAt: i.AcknowledgedAt, ResolvedAt: i.ResolvedAt}
}

// incidentNotFound is the one answer for a missing incident and for one
// the token may not see.
func incidentNotFound(c *gin.Context) {
	problem(c, probNotFound, msg.Texts.IncidentNotFound)
}

// authorizeIncident loads the incident and checks that the token may act
// on it: dispatchers on every incident, team:<id> tokens on their team's.
func (s *Server) authorizeIncident(c *gin.Context) (dispatch.Incident, bool) {
	inc, err := s.disp.Incident(c.Request.Context(), c.Param("case"))
	if errors.Is(err, dispatch.ErrNotFound) {
		incidentNotFound(c)
		return dispatch.Incident{}, false
	}
	if err != nil {
		s.fail(c, err)
		return dispatch.Incident{}, false
	}
	tok := token(c)
	if !mayView(tok, inc.Team) {
		// The same answer as for a case that does not exist: a token must
		// not learn which case numbers (or teams) exist elsewhere.
		incidentNotFound(c)
		return dispatch.Incident{}, false
	}
	return inc, true
}

// incidentAction takes or resolves an incident on behalf of the token.
func (s *Server) incidentAction(action dispatch.Action) gin.HandlerFunc {
	return func(c *gin.Context) {
		inc, ok := s.authorizeIncident(c)
		if !ok {
			return
		}
		tok := token(c)
		res, err := s.disp.Execute(c.Request.Context(), dispatch.Command{
			Action: action, Ref: inc.CaseNumber, Actor: tok.Sender(), Via: "api",
			Dispatcher: tok.Has(dispatch.RoleDispatcher),
		})
		if err != nil {
			s.fail(c, err)
			return
		}
		out := toIncidentJSON(res.Incident)
		out.Outcome, out.Message = string(res.Outcome), res.Reply.In(clientLanguage(c))
		status := http.StatusOK
		if res.Outcome != dispatch.OutcomeApplied {
			status = http.StatusConflict
		}
		c.JSON(status, out)
	}
}

// actionBody is the JSON body of reassign, reject and reply.
type actionBody struct {
	Team string `json:"team"`
	// FromTeam (reassign, optional): the team the caller saw the incident
	// with; 409 if it has moved to another team meanwhile.
	FromTeam string `json:"from_team,omitempty"`
	Reason   string `json:"reason"`
	Text     string `json:"text"`
}

// incidentCommand runs a dispatcher or team command with a JSON body.
func (s *Server) incidentCommand(kind string) gin.HandlerFunc {
	return func(c *gin.Context) {
		inc, ok := s.authorizeIncident(c)
		if !ok {
			return
		}
		var body actionBody
		if !s.readJSONObject(c, &body, true, msg.Texts.CommandBody) {
			return
		}
		tok := token(c)
		ctx, actor, disp := c.Request.Context(), tok.Sender(), tok.Has(dispatch.RoleDispatcher)
		var res dispatch.CommandResult
		var err error
		switch kind {
		case "reassign":
			res, err = s.disp.Reassign(ctx, dispatch.ReassignCommand{Ref: inc.CaseNumber, Team: body.Team, FromTeam: body.FromTeam, Reason: body.Reason, Actor: actor, Via: "api", Dispatcher: disp})
		case "reject":
			res, err = s.disp.Reject(ctx, dispatch.RejectCommand{Ref: inc.CaseNumber, Reason: body.Reason, Actor: actor, Via: "api", Dispatcher: true})
		case "reply":
			res, err = s.disp.Reply(ctx, dispatch.ReplyCommand{Ref: inc.CaseNumber, Text: body.Text, Actor: actor, Via: "api", Dispatcher: true})
		case "unmerge":
			res, err = s.disp.Unmerge(ctx, dispatch.UnmergeCommand{Ref: inc.CaseNumber, Actor: actor, Via: "api", Dispatcher: disp})
		}
		if err != nil {
			s.fail(c, err)
			return
		}
		out := toIncidentJSON(res.Incident)
		out.Outcome, out.Message = string(res.Outcome), res.Reply.In(clientLanguage(c))
		status := http.StatusOK
		if res.Outcome != "" && res.Outcome != dispatch.OutcomeApplied {
			status = http.StatusConflict
		}
		c.JSON(status, out)
	}
}

// getIncidentThumbnail serves GET /api/v1/incidents/{case}/thumbnail: a
// 302 redirect to a short-lived presigned link (s3.presign_ttl) to the
// incident's cover thumbnail (JPEG, longest edge ≤ 320 px; the first
// thumbnail of its oldest report that has one), for the list rows of the
// console. The URL is stable, so a list refresh costs nothing: the
// browser loads it only for rows it shows (loading="lazy"), keeps the
// image for the page, and caches the redirect for a minute or half the
// link's lifetime if that is shorter (private, varying by credentials).
// A caller that may not see the case gets the 404 of a missing case; a
// case without a thumbnail a 404 that says so.
func (s *Server) getIncidentThumbnail(c *gin.Context) {
	cover, err := s.disp.IncidentCoverThumbnail(c.Request.Context(), c.Param("case"))
	if (err == nil || errors.Is(err, dispatch.ErrNotFound)) && !mayView(token(c), cover.Team) {
		err = errIncidentNotFound
	}
	if err == nil && s.media == nil {
		err = errors.New("api: thumbnail: no media store")
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	u, err := s.media.PresignGet(c.Request.Context(), cover.Key)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Cache-Control", "private, max-age="+strconv.Itoa(redirectMaxAge(u)))
	c.Header("Vary", "Authorization, Cookie")
	c.Redirect(http.StatusFound, u)
}

// redirectMaxAge is how many seconds a redirect to the presigned link u
// may be cached: a minute, but at most half of the link's lifetime
// (X-Amz-Expires, AWS Signature Version 4 query authentication), so that
// a cached redirect never leads to an expired link when s3.presign_ttl
// is short; 0 when u does not say how long it lives.
func redirectMaxAge(u string) int {
	parsed, err := url.Parse(u)
	if err != nil {
		return 0
	}
	expires, err := strconv.Atoi(parsed.Query().Get("X-Amz-Expires"))
	if err != nil || expires < 0 {
		return 0
	}
	return min(60, expires/2)
}
