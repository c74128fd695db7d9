package discordfake

import (
	"strings"
	"time"
)

// PostOption changes a posted message.
type PostOption func(*Message)

// At sets the message's creation time (and so its snowflake): a message
// "posted" minutes ago arrives stale, as after an outage.
func At(t time.Time) PostOption { return func(m *Message) { m.Timestamp = t.UTC() } }

// Post makes a user post a message in a channel and delivers MESSAGE_CREATE
// to the sessions that receive the channel's guild messages. It returns
// the message id.
func (s *Server) Post(channelID, authorID, content string, opts ...PostOption) string {
	m := &Message{ChannelID: channelID, AuthorID: authorID, Content: content, Timestamp: s.now()}
	for _, o := range opts {
		o(m)
	}
	s.w.mu.Lock()
	c, ok := s.w.channels[channelID]
	if !ok {
		s.w.mu.Unlock()
		panic("discordfake: Post to unknown channel " + channelID)
	}
	s.w.user(authorID)
	m.GuildID = c.guildID
	m.ID = s.w.snowflake(m.Timestamp)
	s.w.addMessage(m)
	s.w.mu.Unlock()
	s.dispatchMessage("MESSAGE_CREATE", m)
	return m.ID
}

// Redeliver delivers a message's MESSAGE_CREATE again (a duplicate
// delivery, as after a resume that replays an event the client had).
func (s *Server) Redeliver(messageID string) {
	s.w.mu.Lock()
	m, ok := s.w.messages[messageID]
	s.w.mu.Unlock()
	if ok {
		s.dispatchMessage("MESSAGE_CREATE", m)
	}
}

// Edit changes a message's content and delivers MESSAGE_UPDATE.
func (s *Server) Edit(messageID, content string) {
	s.w.mu.Lock()
	m, ok := s.w.messages[messageID]
	if ok {
		now := s.now()
		m.Content, m.EditedAt = content, &now
		s.w.changed()
	}
	s.w.mu.Unlock()
	if ok {
		s.dispatchMessage("MESSAGE_UPDATE", m)
	}
}

// Delete deletes a message and delivers MESSAGE_DELETE.
func (s *Server) Delete(messageID string) {
	s.w.mu.Lock()
	m, ok := s.w.messages[messageID]
	if ok {
		m.Deleted = true
		s.w.changed()
	}
	s.w.mu.Unlock()
	if !ok {
		return
	}
	d := map[string]any{"id": m.ID, "channel_id": m.ChannelID}
	if m.GuildID != "" {
		d["guild_id"] = m.GuildID
	}
	s.dispatch(m.GuildID, messageIntent(m), "MESSAGE_DELETE", func(*session) any { return d })
}

func messageIntent(m *Message) int64 {
	if m.GuildID == "" {
		return IntentDirectMessages
	}
	return IntentGuildMessages
}

// dispatchMessage sends MESSAGE_CREATE/UPDATE; sessions without the
// MESSAGE_CONTENT intent get the content blanked, except for the bot's own
// messages and messages that mention it (Discord's rule).
func (s *Server) dispatchMessage(t string, m *Message) {
	s.w.mu.Lock()
	full := s.w.messageObject(m, true)
	blank := s.w.messageObject(m, false)
	s.w.mu.Unlock()
	always := m.AuthorID == s.opts.BotUserID || m.GuildID == "" || strings.Contains(m.Content, "<@"+s.opts.BotUserID+">")
	s.dispatch(m.GuildID, messageIntent(m), t, func(ss *session) any {
		if always || ss.intents&IntentMessageContent != 0 {
			return full
		}
		return blank
	})
}
