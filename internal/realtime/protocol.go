package realtime

import (
	"encoding/json"
	"time"

	"github.com/tradeexec/tradeexec/schema"
)

// The WebSocket protocol (DESIGN §4, "Real time and dashboard" in §8).
//
// Every server → client message is one JSON object, a Frame. Frames that
// come from the outbox carry the user's gapless sequence number in "seq";
// control frames (connection.authorized, token.expiring, …) carry none. A
// "batch" frame holds several outbox frames in order (a replay), so that a
// reconnecting client receives what it missed in a few writes. A state.sync
// frame carries in "seq" the sequence number its snapshot is current to.
//
// Client → server messages are JSON objects with a "type":
//
//	{"type":"connection.reauth","token":"<access JWT>"}   (or "ticket":"<ws ticket>")
//	{"type":"ping"}                                         → {"type":"pong"}
//
// The client's last seen seq goes in the URL of a reconnect (?lastSeq=N).

// Control frame types (not in the outbox).
const (
	FrameBatch            = "batch"
	FrameReauthorized     = "connection.reauthorized"
	FrameConnectionError  = "connection.error"
	FramePong             = "pong"
	ClientReauth          = "connection.reauth"
	ClientPing            = "ping"
	maxClientMessageBytes = 8192
)

// WebSocket close codes (4000–4999 are the application's).
const (
	// CloseSessionExpired: the access token ran out without connection.reauth.
	CloseSessionExpired = 4001
	// CloseSignedOut: the user signed out (or a session of theirs was
	// ended); a client whose own session is still valid reconnects.
	CloseSignedOut = 4003
	// CloseReauthFailed: connection.reauth carried an invalid token or one
	// of another user.
	CloseReauthFailed = 4008
	// CloseTryAgain: the client did not keep up with its events (or the
	// server is going away); reconnect with lastSeq.
	CloseTryAgain = 1013
	// CloseGoingAway: the server shuts down.
	CloseGoingAway = 1001
)

// Close reasons shown to the trader.
const (
	ReasonSessionExpired = "Session expired. Sign in again."
	ReasonSignedOut      = "Signed out."
	ReasonReauthFailed   = "Could not renew the session. Sign in again."
	ReasonSlowConsumer   = "Connection fell behind. Reconnecting…"
	ReasonShutdown       = "Server restarting. Reconnecting…"
)

// Frame is one server → client message.
type Frame struct {
	Type   string          `json:"type"`
	Seq    int64           `json:"seq,omitempty"`
	At     time.Time       `json:"at"`
	Data   json.RawMessage `json:"data,omitempty"`
	Events []Frame         `json:"events,omitempty"`
}

// ClientMessage is one client → server message.
type ClientMessage struct {
	Type   string `json:"type"`
	Token  string `json:"token,omitempty"`
	Ticket string `json:"ticket,omitempty"`
}

// AuthorizedData is the payload of connection.authorized and
// connection.reauthorized.
type AuthorizedData struct {
	UserID    string    `json:"userId"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// ExpiringData is the payload of token.expiring.
type ExpiringData struct {
	ExpiresAt time.Time `json:"expiresAt"`
	Message   string    `json:"message"`
}

// ErrorData is the payload of connection.error.
type ErrorData struct {
	Message string `json:"message"`
}

// frameOf renders an outbox event.
func frameOf(ev schema.OutboxEvent) Frame {
	return Frame{Type: ev.Type, Seq: ev.Seq, At: ev.CreatedAt.UTC(), Data: json.RawMessage(ev.Payload)}
}

// ControlFrame encodes a frame without a sequence number.
func ControlFrame(typ string, data any, at time.Time) []byte {
	f := Frame{Type: typ, At: at.UTC()}
	if data != nil {
		b, err := json.Marshal(data)
		if err == nil {
			f.Data = b
		}
	}
	b, _ := json.Marshal(f)
	return b
}

func encodeFrame(f Frame) []byte {
	b, _ := json.Marshal(f)
	return b
}
