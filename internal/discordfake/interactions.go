package discordfake

import (
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Application command option types (Discord's values).
const (
	OptSubcommand = 1
	OptString     = 3
	OptInteger    = 4
	OptBoolean    = 5
	OptUser       = 6
	OptChannel    = 7
	OptRole       = 8
	OptNumber     = 10
)

// Interaction callback types.
const (
	CallbackMessage  = 4 // CHANNEL_MESSAGE_WITH_SOURCE
	CallbackDeferred = 5 // DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
)

const flagEphemeral = 64

// Option is one option value of an invoked command.
type Option struct {
	Name  string
	Type  int
	Value any // string, bool, float64/int, or an id string (user, channel, role)
}

// Command is a slash command a user invokes.
type Command struct {
	GuildID, ChannelID string // GuildID "" for a DM with the bot
	UserID             string
	Name               string
	Subcommand         string // "" for a command without subcommands
	Options            []Option
}

// interaction is an invoked command and what the bot answered.
type interaction struct {
	id, token string
	created   time.Time
	cmd       Command

	mu        sync.Mutex
	acked     bool
	late      bool
	ackAt     time.Time
	ackType   int
	ephemeral bool
	original  *Message
	followups []*Message
}

// Call is a handle on an invoked command.
type Call struct {
	s  *Server
	ix *interaction
}

// Response is what the bot answered to an interaction so far.
type Response struct {
	Acked     bool
	Type      int           // CallbackMessage or CallbackDeferred
	AckAfter  time.Duration // from the interaction's creation to the callback
	Late      bool          // a callback came after the deadline and was refused
	Ephemeral bool
	Content   string // the original response (after edits)
	Followups []string
}

// Interact invokes a registered command (guild or global) as the user and
// delivers INTERACTION_CREATE to the guild's shard.
func (s *Server) Interact(c Command) (*Call, error) {
	s.w.mu.Lock()
	cmdID := ""
	for _, scope := range []string{c.GuildID, ""} {
		for _, rc := range s.w.commands[scope] {
			if rc["name"] == c.Name {
				cmdID = rc["id"].(string)
			}
		}
		if cmdID != "" {
			break
		}
	}
	if cmdID == "" {
		s.w.mu.Unlock()
		return nil, fmt.Errorf("discordfake: command /%s is not registered", c.Name)
	}
	now := s.now()
	ix := &interaction{id: s.w.snowflake(now), token: "aW50ZXJhY3Rpb246" + randomID(), created: now, cmd: c}
	opts := make([]map[string]any, 0, len(c.Options))
	for _, o := range c.Options {
		v := o.Value
		if o.Type == OptInteger {
			v = toInt(v)
		}
		opts = append(opts, map[string]any{"name": o.Name, "type": o.Type, "value": v})
	}
	data := map[string]any{"id": cmdID, "name": c.Name, "type": 1, "options": opts}
	if c.Subcommand != "" {
		data["options"] = []map[string]any{{"name": c.Subcommand, "type": OptSubcommand, "options": opts}}
	}
	if c.GuildID != "" {
		data["guild_id"] = c.GuildID
	}
	d := map[string]any{
		"id": ix.id, "application_id": s.opts.AppID, "type": 2, "data": data, "token": ix.token, "version": 1,
		"locale": "en-US", "app_permissions": strconv.FormatInt(PermDefault, 10), "entitlements": []any{},
		"channel_id": c.ChannelID, "context": 0,
	}
	if g, ok := s.w.guilds[c.GuildID]; ok {
		m := s.w.memberObject(g, c.UserID, true)
		m["permissions"] = strconv.FormatInt(g.permissions(c.UserID), 10)
		d["guild_id"] = c.GuildID
		d["member"] = m
		d["guild_locale"] = "en-US"
		d["authorizing_integration_owners"] = map[string]any{"0": c.GuildID}
		if ch, ok := s.w.channels[c.ChannelID]; ok {
			d["channel"] = ch.object(s.w)
		}
	} else {
		d["user"] = s.w.userObject(c.UserID)
		d["context"] = 1
		d["authorizing_integration_owners"] = map[string]any{"1": c.UserID}
	}
	s.w.mu.Unlock()

	s.ixMu.Lock()
	s.interactions[ix.id] = ix
	s.ixMu.Unlock()
	s.dispatch(c.GuildID, 0, "INTERACTION_CREATE", func(*session) any { return d })
	return &Call{s: s, ix: ix}, nil
}

func toInt(v any) any {
	switch n := v.(type) {
	case int:
		return n
	case float64:
		return int64(n)
	}
	return v
}

// Response returns the current answer.
func (c *Call) Response() Response {
	ix := c.ix
	ix.mu.Lock()
	defer ix.mu.Unlock()
	r := Response{Acked: ix.acked, Type: ix.ackType, Late: ix.late, Ephemeral: ix.ephemeral}
	if ix.acked {
		r.AckAfter = ix.ackAt.Sub(ix.created)
	}
	if ix.original != nil {
		r.Content = ix.original.Content
	}
	for _, f := range ix.followups {
		r.Followups = append(r.Followups, f.Content)
	}
	return r
}

// WaitAnswer waits until the interaction has an answer with content (the
// immediate message, the edited deferred response, or a follow-up).
func (c *Call) WaitAnswer(timeout time.Duration) (Response, bool) {
	var r Response
	ok := c.s.WaitFor(timeout, func() bool {
		r = c.Response()
		return r.Acked && (r.Content != "" || len(r.Followups) > 0)
	})
	return r, ok
}

func (s *Server) interactionByToken(token string) *interaction {
	s.ixMu.Lock()
	defer s.ixMu.Unlock()
	for _, ix := range s.interactions {
		if ix.token == token {
			return ix
		}
	}
	return nil
}
