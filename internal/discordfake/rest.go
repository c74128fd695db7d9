package discordfake

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const maxMessageLen = 2000

var commandNameRe = regexp.MustCompile(`^[-_\p{Ll}\p{N}]{1,32}$`)

// serveREST answers the REST endpoints a bot uses.
func (s *Server) serveREST(w http.ResponseWriter, r *http.Request, path string) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, codeInvalidFormBody, "Invalid Form Body")
		return
	}
	m := r.Method
	switch {
	case m == http.MethodGet && path == "/gateway":
		writeJSON(w, http.StatusOK, map[string]any{"url": s.gatewayURL()})
	case m == http.MethodGet && path == "/gateway/bot":
		writeJSON(w, http.StatusOK, map[string]any{"url": s.gatewayURL(), "shards": 1, "session_start_limit": map[string]any{
			"total": 1000, "remaining": 999, "reset_after": 14400000, "max_concurrency": 1}})
	case m == http.MethodGet && path == "/users/@me":
		s.w.mu.Lock()
		u := s.w.userObject(s.opts.BotUserID)
		s.w.mu.Unlock()
		writeJSON(w, http.StatusOK, u)
	case m == http.MethodGet && (path == "/oauth2/applications/@me" || path == "/applications/@me"):
		writeJSON(w, http.StatusOK, map[string]any{"id": s.opts.AppID, "name": "tradeexec", "flags": 0, "bot_public": true,
			"bot_require_code_grant": false, "description": "", "verify_key": strings.Repeat("0", 64)})
	case len(parts) >= 3 && parts[0] == "applications" && parts[len(parts)-1] == "commands":
		s.commandsEndpoint(w, m, parts, body)
	case m == http.MethodPost && path == "/users/@me/channels":
		s.createDM(w, body)
	case len(parts) == 3 && parts[0] == "channels" && parts[2] == "messages" && m == http.MethodPost:
		s.createMessage(w, parts[1], body)
	case len(parts) == 4 && parts[0] == "channels" && parts[2] == "messages" && m == http.MethodGet:
		s.getMessage(w, parts[1], parts[3])
	case len(parts) == 2 && parts[0] == "channels" && m == http.MethodGet:
		s.w.mu.Lock()
		c, ok := s.w.channels[parts[1]]
		var obj map[string]any
		if ok {
			obj = c.object(s.w)
		}
		s.w.mu.Unlock()
		if !ok {
			writeError(w, http.StatusNotFound, codeUnknownChannel, "Unknown Channel")
			return
		}
		writeJSON(w, http.StatusOK, obj)
	case len(parts) >= 2 && parts[0] == "guilds" && m == http.MethodGet:
		s.guildEndpoint(w, parts)
	case len(parts) == 4 && parts[0] == "interactions" && parts[3] == "callback" && m == http.MethodPost:
		s.interactionCallback(w, parts[1], parts[2], body)
	case len(parts) >= 3 && parts[0] == "webhooks":
		s.webhookEndpoint(w, r, parts, body)
	default:
		writeError(w, http.StatusNotFound, 0, "404: Not Found")
	}
}

func (s *Server) gatewayURL() string {
	return "ws://" + strings.TrimPrefix(s.url, "http://") + "/gateway"
}

func formError(w http.ResponseWriter, field, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Invalid Form Body", "code": codeInvalidFormBody,
		"errors": map[string]any{field: map[string]any{"_errors": []map[string]any{{"code": "BASE_TYPE_INVALID", "message": msg}}}}})
}

// commandsEndpoint: GET and PUT (bulk overwrite) of global or guild
// commands.
func (s *Server) commandsEndpoint(w http.ResponseWriter, method string, parts []string, body []byte) {
	if parts[1] != s.opts.AppID {
		writeError(w, http.StatusForbidden, 50001, "Missing Access")
		return
	}
	scope := ""
	if len(parts) == 5 && parts[2] == "guilds" {
		scope = parts[3]
	} else if len(parts) != 3 {
		writeError(w, http.StatusNotFound, 0, "404: Not Found")
		return
	}
	switch method {
	case http.MethodGet:
		s.w.mu.Lock()
		cmds := s.w.commands[scope]
		s.w.mu.Unlock()
		if cmds == nil {
			cmds = []map[string]any{}
		}
		writeJSON(w, http.StatusOK, cmds)
	case http.MethodPut:
		var in []map[string]any
		if err := json.Unmarshal(body, &in); err != nil {
			formError(w, "_", "Expected an array of commands")
			return
		}
		if len(in) > 100 {
			formError(w, "_", "Must be 100 or fewer in length.")
			return
		}
		s.w.mu.Lock()
		old := map[string]string{}
		for _, c := range s.w.commands[scope] {
			old[c["name"].(string)] = c["id"].(string)
		}
		out := make([]map[string]any, 0, len(in))
		for i, c := range in {
			if msg := validateCommand(c); msg != "" {
				s.w.mu.Unlock()
				formError(w, strconv.Itoa(i), msg)
				return
			}
			name := c["name"].(string)
			id, ok := old[name]
			if !ok {
				id = s.w.snowflake(s.now())
			}
			c["id"], c["application_id"], c["version"] = id, s.opts.AppID, s.w.snowflake(s.now())
			if c["type"] == nil {
				c["type"] = 1
			}
			if scope != "" {
				c["guild_id"] = scope
			}
			out = append(out, c)
		}
		s.w.commands[scope] = out
		s.w.changed()
		s.w.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
	default:
		writeError(w, http.StatusMethodNotAllowed, 0, "405: Method Not Allowed")
	}
}

// validateCommand checks what Discord checks of a chat-input command.
func validateCommand(c map[string]any) string {
	name, _ := c["name"].(string)
	if !commandNameRe.MatchString(name) {
		return "Command name must be 1-32 lowercase characters."
	}
	desc, _ := c["description"].(string)
	if n := utf8.RuneCountInString(desc); n < 1 || n > 100 {
		return "Command description must be 1-100 characters."
	}
	return validateOptions(c["options"])
}

func validateOptions(raw any) string {
	opts, _ := raw.([]any)
	if len(opts) > 25 {
		return "Must be 25 or fewer in length."
	}
	optional := false
	for _, o := range opts {
		om, ok := o.(map[string]any)
		if !ok {
			return "Invalid option."
		}
		name, _ := om["name"].(string)
		desc, _ := om["description"].(string)
		if !commandNameRe.MatchString(name) || desc == "" || utf8.RuneCountInString(desc) > 100 {
			return "Option " + strconv.Quote(name) + " needs a lowercase name and a description of 1-100 characters."
		}
		typ, _ := om["type"].(float64)
		if typ == OptSubcommand {
			if msg := validateOptions(om["options"]); msg != "" {
				return msg
			}
			continue
		}
		req, _ := om["required"].(bool)
		if req && optional {
			return "Required options must be placed before non-required options."
		}
		if !req {
			optional = true
		}
	}
	return ""
}

func (s *Server) createDM(w http.ResponseWriter, body []byte) {
	var in struct {
		RecipientID string `json:"recipient_id"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.RecipientID == "" {
		formError(w, "recipient_id", "This field is required")
		return
	}
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	if _, ok := s.w.users[in.RecipientID]; !ok {
		writeError(w, http.StatusBadRequest, codeInvalidFormBody, "Invalid Recipient(s)")
		return
	}
	id, ok := s.w.dms[in.RecipientID]
	if !ok {
		id = s.w.snowflake(s.now())
		s.w.dms[in.RecipientID] = id
		s.w.channels[id] = &channel{id: id, dmUser: in.RecipientID}
	}
	writeJSON(w, http.StatusOK, s.w.channels[id].object(s.w))
}

type messageBody struct {
	Content          string            `json:"content"`
	Embeds           []json.RawMessage `json:"embeds"`
	Flags            int               `json:"flags"`
	MessageReference *struct {
		MessageID string `json:"message_id"`
	} `json:"message_reference"`
}

func (s *Server) createMessage(w http.ResponseWriter, channelID string, body []byte) {
	var in messageBody
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, http.StatusBadRequest, codeInvalidFormBody, "Invalid Form Body")
		return
	}
	s.w.mu.Lock()
	c, ok := s.w.channels[channelID]
	if !ok {
		s.w.mu.Unlock()
		writeError(w, http.StatusNotFound, codeUnknownChannel, "Unknown Channel")
		return
	}
	if c.dmUser != "" && s.w.user(c.dmUser).dmsClosed {
		s.w.mu.Unlock()
		writeError(w, http.StatusForbidden, codeCannotSendToUser, "Cannot send messages to this user")
		return
	}
	if strings.TrimSpace(in.Content) == "" && len(in.Embeds) == 0 {
		s.w.mu.Unlock()
		writeError(w, http.StatusBadRequest, codeEmptyMessage, "Cannot send an empty message")
		return
	}
	if utf8.RuneCountInString(in.Content) > maxMessageLen {
		s.w.mu.Unlock()
		formError(w, "content", "Must be 2000 or fewer in length.")
		return
	}
	m := &Message{ChannelID: channelID, GuildID: c.guildID, AuthorID: s.opts.BotUserID, Content: in.Content, Timestamp: s.now()}
	if in.MessageReference != nil && in.MessageReference.MessageID != "" {
		ref, ok := s.w.messages[in.MessageReference.MessageID]
		if !ok || ref.ChannelID != channelID {
			s.w.mu.Unlock()
			formError(w, "message_reference", "Unknown message")
			return
		}
		m.ReplyTo = ref.ID
	}
	m.ID = s.w.snowflake(m.Timestamp)
	s.w.addMessage(m)
	obj := s.w.messageObject(m, true)
	s.w.mu.Unlock()
	writeJSON(w, http.StatusOK, obj)
	s.dispatchMessage("MESSAGE_CREATE", m)
}

func (s *Server) getMessage(w http.ResponseWriter, channelID, messageID string) {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	m, ok := s.w.messages[messageID]
	if !ok || m.ChannelID != channelID || m.Deleted {
		writeError(w, http.StatusNotFound, codeUnknownMessage, "Unknown Message")
		return
	}
	writeJSON(w, http.StatusOK, s.w.messageObject(m, true))
}

// guildEndpoint: GET /guilds/{id}, /guilds/{id}/roles,
// /guilds/{id}/members/{user}.
func (s *Server) guildEndpoint(w http.ResponseWriter, parts []string) {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	g, ok := s.w.guilds[parts[1]]
	if !ok {
		writeError(w, http.StatusNotFound, codeUnknownGuild, "Unknown Guild")
		return
	}
	switch {
	case len(parts) == 2:
		writeJSON(w, http.StatusOK, g.object(s.w, false))
	case len(parts) == 3 && parts[2] == "roles":
		writeJSON(w, http.StatusOK, g.roleList())
	case len(parts) == 4 && parts[2] == "members":
		if _, ok := g.members[parts[3]]; !ok {
			writeError(w, http.StatusNotFound, codeUnknownMember, "Unknown Member")
			return
		}
		writeJSON(w, http.StatusOK, s.w.memberObject(g, parts[3], true))
	default:
		writeError(w, http.StatusNotFound, 0, "404: Not Found")
	}
}

// interactionCallback answers POST /interactions/{id}/{token}/callback.
func (s *Server) interactionCallback(w http.ResponseWriter, id, token string, body []byte) {
	s.ixMu.Lock()
	ix := s.interactions[id]
	s.ixMu.Unlock()
	if ix == nil || ix.token != token {
		writeError(w, http.StatusNotFound, codeUnknownInteraction, "Unknown interaction")
		return
	}
	var in struct {
		Type int         `json:"type"`
		Data messageBody `json:"data"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, http.StatusBadRequest, codeInvalidFormBody, "Invalid Form Body")
		return
	}
	now := s.now()
	ix.mu.Lock()
	switch {
	case ix.acked:
		ix.mu.Unlock()
		writeError(w, http.StatusBadRequest, codeAlreadyAcked, "Interaction has already been acknowledged.")
		return
	case now.Sub(ix.created) > s.opts.InteractionDeadline:
		ix.late = true
		ix.mu.Unlock()
		s.touch()
		writeError(w, http.StatusNotFound, codeUnknownInteraction, "Unknown interaction")
		return
	case in.Type != CallbackMessage && in.Type != CallbackDeferred:
		ix.mu.Unlock()
		formError(w, "type", "Value must be one of {4, 5} for an application command.")
		return
	case in.Type == CallbackMessage && strings.TrimSpace(in.Data.Content) == "" && len(in.Data.Embeds) == 0:
		ix.mu.Unlock()
		writeError(w, http.StatusBadRequest, codeEmptyMessage, "Cannot send an empty message")
		return
	}
	ix.acked, ix.ackAt, ix.ackType = true, now, in.Type
	ix.ephemeral = in.Data.Flags&flagEphemeral != 0
	ix.original = s.interactionMessage(ix, in.Data.Content, now)
	ix.mu.Unlock()
	s.touch()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) interactionMessage(ix *interaction, content string, now time.Time) *Message {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	m := &Message{ID: s.w.snowflake(now), ChannelID: ix.cmd.ChannelID, GuildID: ix.cmd.GuildID, AuthorID: s.opts.BotUserID,
		Content: content, Timestamp: now, Ephemeral: ix.ephemeral}
	s.w.messages[m.ID] = m
	return m
}

func (s *Server) touch() {
	s.w.mu.Lock()
	s.w.changed()
	s.w.mu.Unlock()
}

// webhookEndpoint: follow-ups (POST /webhooks/{app}/{token}) and the
// original response (GET/PATCH /webhooks/{app}/{token}/messages/@original).
func (s *Server) webhookEndpoint(w http.ResponseWriter, r *http.Request, parts []string, body []byte) {
	if parts[1] != s.opts.AppID {
		writeError(w, http.StatusNotFound, codeUnknownWebhook, "Unknown Webhook")
		return
	}
	ix := s.interactionByToken(parts[2])
	if ix == nil {
		writeError(w, http.StatusNotFound, codeUnknownWebhook, "Unknown Webhook")
		return
	}
	ix.mu.Lock()
	acked := ix.acked
	ix.mu.Unlock()
	if !acked {
		writeError(w, http.StatusNotFound, codeUnknownWebhook, "Unknown Webhook")
		return
	}
	var in messageBody
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			writeError(w, http.StatusBadRequest, codeInvalidFormBody, "Invalid Form Body")
			return
		}
	}
	if utf8.RuneCountInString(in.Content) > maxMessageLen {
		formError(w, "content", "Must be 2000 or fewer in length.")
		return
	}
	now := s.now()
	switch {
	case len(parts) == 3 && r.Method == http.MethodPost:
		if strings.TrimSpace(in.Content) == "" && len(in.Embeds) == 0 {
			writeError(w, http.StatusBadRequest, codeEmptyMessage, "Cannot send an empty message")
			return
		}
		ix.mu.Lock()
		ix.ephemeral = ix.ephemeral || in.Flags&flagEphemeral != 0
		m := s.interactionMessage(ix, in.Content, now)
		ix.followups = append(ix.followups, m)
		ix.mu.Unlock()
		s.touch()
		if r.URL.Query().Get("wait") == "true" {
			s.w.mu.Lock()
			obj := s.w.messageObject(m, true)
			s.w.mu.Unlock()
			writeJSON(w, http.StatusOK, obj)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case len(parts) == 5 && parts[3] == "messages" && parts[4] == "@original":
		if r.Method != http.MethodPatch && r.Method != http.MethodGet {
			writeError(w, http.StatusMethodNotAllowed, 0, "405: Method Not Allowed")
			return
		}
		ix.mu.Lock()
		m := ix.original
		if r.Method == http.MethodPatch {
			s.w.mu.Lock()
			m.Content = in.Content
			edited := now
			m.EditedAt = &edited
			s.w.mu.Unlock()
		}
		ix.mu.Unlock()
		s.touch()
		s.w.mu.Lock()
		obj := s.w.messageObject(m, true)
		s.w.mu.Unlock()
		writeJSON(w, http.StatusOK, obj)
	default:
		writeError(w, http.StatusNotFound, 0, "404: Not Found")
	}
}
