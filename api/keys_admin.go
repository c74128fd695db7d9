package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/keys"
	"github.com/tradeexec/tradeexec/workflows"
)

// KeysAdmin serves the key lifecycle to administrators (DESIGN "Key
// lifecycle"): status, a rotation now, a JWT signing key rotation or
// revocation, and ending a user's sessions.
type KeysAdmin struct {
	Rotator *keys.Rotator
	// ScheduleID is the key-rotation schedule of this task queue.
	ScheduleID string
}

// keysRoutes registers the admin key routes (admin role only).
func (s *Server) keysRoutes(v1 apiRoutes) {
	if s.Keys == nil || s.Auth == nil {
		return
	}
	v1.GET("/admin/keys", allow(admin), s.keysStatus)
	v1.POST("/admin/keys/rotate", allow(admin), s.keysRotate)
	v1.POST("/admin/keys/rotate-signing", allow(admin), s.keysRotateSigning)
	v1.POST("/admin/keys/signing/:kid/revoke", allow(admin), s.keysRevokeSigning)
	v1.POST("/admin/users/:id/revoke-sessions", allow(admin), s.revokeUserSessions)
}

func adminBy(c *gin.Context) string { return "admin " + c.GetString(ctxUserID) }

// keysStatus: GET /api/v1/admin/keys — vault key versions with the rows
// under each, the JWT signing keys and the schedule's next run.
func (s *Server) keysStatus(c *gin.Context) {
	st, err := s.Keys.Rotator.Status(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	if s.Keys.ScheduleID != "" {
		if d, err := s.Temporal.ScheduleClient().GetHandle(c.Request.Context(), s.Keys.ScheduleID).Describe(c.Request.Context()); err == nil {
			if len(d.Info.NextActionTimes) > 0 {
				st.NextRotation = d.Info.NextActionTimes[0].UTC()
			}
			st.Paused = d.Schedule.State != nil && d.Schedule.State.Paused
		}
	}
	c.JSON(http.StatusOK, st)
}

// keysRotate: POST /api/v1/admin/keys/rotate — starts KeyRotationWorkflow
// now (one manual rotation at a time: 409 while one runs).
func (s *Server) keysRotate(c *gin.Context) {
	run, err := s.Temporal.ExecuteWorkflow(c.Request.Context(), client.StartWorkflowOptions{
		ID: workflows.KeyRotationManualID, TaskQueue: s.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}, workflows.KeyRotationWorkflowName, workflows.KeyRotationInput{By: adminBy(c)})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		s.fail(c, &Error{Status: http.StatusConflict, Code: "rotation_running", Message: "A key rotation is already running; see the Temporal UI (" + workflows.KeyRotationManualID + ")."})
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"workflowId": run.GetID(), "runId": run.GetRunID()})
}

// keysRotateSigning: POST /api/v1/admin/keys/rotate-signing — a new JWT
// signing key now (auth.Service.RotateSigningKey); earlier tokens verify
// until they expire.
func (s *Server) keysRotateSigning(c *gin.Context) {
	kid, err := s.Auth.RotateSigningKey(c.Request.Context(), adminBy(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"kid": kid})
}

// keysRevokeSigning: POST /api/v1/admin/keys/signing/:kid/revoke — a
// compromised signing key: every token it signed is refused from now on.
func (s *Server) keysRevokeSigning(c *gin.Context) {
	kid := c.Param("kid")
	if len(kid) != 32 {
		s.fail(c, badRequest("kid", "kid must be a signing key id (32 hex characters, see GET /api/v1/admin/keys)."))
		return
	}
	err := s.Auth.RevokeSigningKey(c.Request.Context(), kid, adminBy(c))
	if errors.Is(err, auth.ErrUnknownSigningKey) {
		s.fail(c, errNotFound)
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"kid": kid, "revokedAt": time.Now().UTC()})
}

// revokeUserSessions: POST /api/v1/admin/users/:id/revoke-sessions — ends
// every session of a user (auth.Service.RevokeUserSessions): their access
// tokens are refused on the next request, their refresh tokens no longer
// refresh.
func (s *Server) revokeUserSessions(c *gin.Context) {
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		s.fail(c, badRequest("id", "id must be a user id."))
		return
	}
	n, err := s.Auth.RevokeUserSessions(c.Request.Context(), id, "", auth.ReasonRevoked, s.client(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"userId": id, "revoked": n})
}
