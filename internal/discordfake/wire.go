package discordfake

import (
	"sort"
	"strconv"
	"time"
)

// Wire shapes of Discord objects (v10), built as maps so that the fake
// sends exactly the documented field names and types: ids and permission
// sets are strings, timestamps ISO 8601.

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000+00:00") }

func (w *world) userObject(id string) map[string]any {
	u := w.user(id)
	return map[string]any{
		"id": u.id, "username": u.name, "global_name": u.name, "discriminator": "0", "avatar": nil,
		"bot": u.bot, "public_flags": 0,
	}
}

func (w *world) memberObject(g *guild, userID string, withUser bool) map[string]any {
	roles := g.members[userID]
	if roles == nil {
		roles = []string{}
	}
	m := map[string]any{
		"roles": roles, "joined_at": isoTime(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)), "deaf": false, "mute": false,
		"flags": 0, "pending": false, "nick": nil, "avatar": nil, "premium_since": nil, "communication_disabled_until": nil,
	}
	if withUser {
		m["user"] = w.userObject(userID)
	}
	return m
}

func roleObject(r Role, position int) map[string]any {
	return map[string]any{
		"id": r.ID, "name": r.Name, "color": 0, "hoist": false, "icon": nil, "unicode_emoji": nil, "position": position,
		"permissions": strconv.FormatInt(r.Permissions, 10), "managed": false, "mentionable": false, "flags": 0,
	}
}

func (g *guild) roleList() []map[string]any {
	out := []map[string]any{roleObject(g.roles[g.ID], 0)}
	i := 1
	for _, r := range g.Roles {
		out = append(out, roleObject(g.roles[r.ID], i))
		i++
	}
	var extra []string
	for id := range g.roles {
		if id != g.ID && !containsRole(g.Roles, id) {
			extra = append(extra, id)
		}
	}
	sort.Strings(extra)
	for _, id := range extra {
		out = append(out, roleObject(g.roles[id], i))
		i++
	}
	return out
}

func containsRole(rs []Role, id string) bool {
	for _, r := range rs {
		if r.ID == id {
			return true
		}
	}
	return false
}

func (c *channel) object(w *world) map[string]any {
	if c.dmUser != "" {
		return map[string]any{"id": c.id, "type": 1, "last_message_id": lastID(c), "flags": 0,
			"recipients": []map[string]any{w.userObject(c.dmUser)}}
	}
	return map[string]any{"id": c.id, "type": 0, "guild_id": c.guildID, "name": c.name, "position": 0,
		"permission_overwrites": []any{}, "nsfw": false, "topic": nil, "last_message_id": lastID(c), "parent_id": nil,
		"rate_limit_per_user": 0, "flags": 0}
}

func lastID(c *channel) any {
	if len(c.messages) == 0 {
		return nil
	}
	return c.messages[len(c.messages)-1].ID
}

func (g *guild) object(w *world, full bool) map[string]any {
	o := map[string]any{
		"id": g.ID, "name": g.Name, "icon": nil, "owner_id": g.OwnerID, "roles": g.roleList(), "emojis": []any{},
		"features": []string{}, "verification_level": 0, "default_message_notifications": 0, "explicit_content_filter": 0,
		"mfa_level": 0, "system_channel_id": nil, "premium_tier": 0, "preferred_locale": "en-US", "nsfw_level": 0,
		"stickers": []any{},
	}
	if full {
		chans := []map[string]any{}
		for _, id := range g.channels {
			chans = append(chans, w.channels[id].object(w))
		}
		o["channels"] = chans
		o["threads"] = []any{}
		o["members"] = []any{}
		o["member_count"] = len(g.members)
		o["large"] = false
		o["unavailable"] = false
		o["joined_at"] = isoTime(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
		o["voice_states"] = []any{}
		o["presences"] = []any{}
	}
	return o
}

// messageObject is a message as REST returns it and MESSAGE_CREATE
// carries it; withContent false blanks what the MESSAGE_CONTENT intent
// guards.
func (w *world) messageObject(m *Message, withContent bool) map[string]any {
	content := m.Content
	if !withContent {
		content = ""
	}
	var edited any
	if m.EditedAt != nil {
		edited = isoTime(*m.EditedAt)
	}
	o := map[string]any{
		"id": m.ID, "channel_id": m.ChannelID, "author": w.userObject(m.AuthorID), "content": content,
		"timestamp": isoTime(m.Timestamp), "edited_timestamp": edited, "tts": false, "mention_everyone": false,
		"mentions": []any{}, "mention_roles": []any{}, "attachments": []any{}, "embeds": []any{}, "pinned": false,
		"type": 0, "flags": 0, "components": []any{},
	}
	if m.Ephemeral {
		o["flags"] = 64
	}
	if m.ReplyTo != "" {
		o["type"] = 19
		o["message_reference"] = map[string]any{"type": 0, "message_id": m.ReplyTo, "channel_id": m.ChannelID, "guild_id": m.GuildID}
	}
	if m.GuildID != "" {
		o["guild_id"] = m.GuildID
		if g, ok := w.guilds[m.GuildID]; ok {
			if _, member := g.members[m.AuthorID]; member {
				o["member"] = w.memberObject(g, m.AuthorID, false)
			}
		}
	}
	return o
}
