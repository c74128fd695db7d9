package discordfake

import (
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"
)

// DiscordEpoch is the first millisecond of 2015, the origin of snowflake
// timestamps.
const DiscordEpoch = 1420070400000

// Permission bits used by the fake (Discord's values).
const (
	PermAdministrator int64 = 1 << 3
	PermManageGuild   int64 = 1 << 5
	PermSendMessages  int64 = 1 << 11
	PermViewChannel   int64 = 1 << 10
	// PermDefault is what @everyone holds in a new guild (view + send).
	PermDefault = PermViewChannel | PermSendMessages
	// allPermissions is what the owner and administrators hold.
	allPermissions int64 = 1<<53 - 1
)

// Guild is a server.
type Guild struct {
	ID      string
	Name    string
	OwnerID string
	// Roles besides @everyone (whose id is the guild id, PermDefault).
	Roles []Role
}

// Role is a guild role.
type Role struct {
	ID          string
	Name        string
	Permissions int64
}

// Message is a message as the fake stores it.
type Message struct {
	ID        string
	ChannelID string
	GuildID   string // "" in a DM
	AuthorID  string
	Content   string
	Timestamp time.Time
	EditedAt  *time.Time
	ReplyTo   string // referenced message id of a reply
	Deleted   bool
	// Ephemeral marks an interaction answer only its user sees.
	Ephemeral bool
}

type user struct {
	id, name  string
	bot       bool
	dmsClosed bool
}

type guild struct {
	Guild
	roles    map[string]Role
	members  map[string][]string // user id → role ids
	channels []string
}

type channel struct {
	id, guildID, name string
	dmUser            string // recipient of a DM channel
	messages          []*Message
}

type world struct {
	mu       sync.Mutex
	seq      uint64
	users    map[string]*user
	guilds   map[string]*guild
	channels map[string]*channel
	dms      map[string]string // user id → DM channel id
	messages map[string]*Message
	commands map[string][]map[string]any // "" (global) or guild id → registered commands
	notify   chan struct{}               // closed and replaced on every change (waiters)
}

func newWorld() *world {
	return &world{
		users: map[string]*user{}, guilds: map[string]*guild{}, channels: map[string]*channel{},
		dms: map[string]string{}, messages: map[string]*Message{}, commands: map[string][]map[string]any{},
		notify: make(chan struct{}),
	}
}

// changed wakes waiters; w.mu must be held.
func (w *world) changed() {
	close(w.notify)
	w.notify = make(chan struct{})
}

// snowflake returns a new id whose timestamp is at; w.mu must be held.
func (w *world) snowflake(at time.Time) string {
	w.seq++
	ms := max(at.UnixMilli()-DiscordEpoch, 0) // a clock before 2015 would wrap
	return strconv.FormatUint(uint64(ms)<<22|(1<<17)|(w.seq&0xfff), 10)
}

// SnowflakeTime is the creation time encoded in a Discord id.
func SnowflakeTime(id string) (time.Time, error) {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("discordfake: %q is not a snowflake", id)
	}
	return time.UnixMilli(int64(n>>22) + DiscordEpoch).UTC(), nil
}

// NewID returns a fresh snowflake for the current time (for test ids).
func (s *Server) NewID() string {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	return s.w.snowflake(s.now())
}

// AddUser registers a Discord user (members and DM recipients must exist).
func (s *Server) AddUser(id, name string) {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	if u, ok := s.w.users[id]; ok {
		u.name = name
		return
	}
	s.w.users[id] = &user{id: id, name: name}
}

// SetDMsClosed makes DMs to the user fail as when they disabled DMs from
// server members (error 50007).
func (s *Server) SetDMsClosed(userID string, closed bool) {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	s.w.user(userID).dmsClosed = closed
}

// user returns (creating) a user; w.mu must be held.
func (w *world) user(id string) *user {
	u, ok := w.users[id]
	if !ok {
		u = &user{id: id, name: "user" + id[len(id)-4:]}
		w.users[id] = u
	}
	return u
}

// AddGuild creates a guild the bot is in; its owner becomes a member.
func (s *Server) AddGuild(g Guild) {
	s.w.mu.Lock()
	if g.Name == "" {
		g.Name = "guild " + g.ID
	}
	gd := &guild{Guild: g, roles: map[string]Role{}, members: map[string][]string{}}
	gd.roles[g.ID] = Role{ID: g.ID, Name: "@everyone", Permissions: PermDefault}
	for _, r := range g.Roles {
		gd.roles[r.ID] = r
	}
	if g.OwnerID != "" {
		s.w.user(g.OwnerID)
		gd.members[g.OwnerID] = nil
	}
	s.w.guilds[g.ID] = gd
	s.w.changed()
	s.w.mu.Unlock()
	s.dispatchGuildCreate(g.ID)
}

// AddRole adds a role to a guild.
func (s *Server) AddRole(guildID string, r Role) {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	s.w.guilds[guildID].roles[r.ID] = r
}

// AddChannel adds a text channel to a guild.
func (s *Server) AddChannel(guildID, channelID, name string) {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	g := s.w.guilds[guildID]
	g.channels = append(g.channels, channelID)
	s.w.channels[channelID] = &channel{id: channelID, guildID: guildID, name: name}
}

// AddMember makes a user a member of a guild with roles.
func (s *Server) AddMember(guildID, userID string, roles ...string) {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	s.w.user(userID)
	s.w.guilds[guildID].members[userID] = append([]string(nil), roles...)
}

// permissions computes a member's guild-level permissions (owner: all).
func (g *guild) permissions(userID string) int64 {
	if userID == g.OwnerID {
		return allPermissions
	}
	p := g.roles[g.ID].Permissions
	for _, r := range g.members[userID] {
		p |= g.roles[r].Permissions
	}
	if p&PermAdministrator != 0 {
		return allPermissions
	}
	return p
}

// Messages returns the messages of a channel in order (deleted ones too,
// marked Deleted).
func (s *Server) Messages(channelID string) []Message {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	c, ok := s.w.channels[channelID]
	if !ok {
		return nil
	}
	out := make([]Message, len(c.messages))
	for i, m := range c.messages {
		out[i] = *m
	}
	return out
}

// DMs returns the direct messages the bot sent to a user.
func (s *Server) DMs(userID string) []Message {
	s.w.mu.Lock()
	id, ok := s.w.dms[userID]
	s.w.mu.Unlock()
	if !ok {
		return nil
	}
	return s.Messages(id)
}

// WaitFor polls cond (under no lock) until it holds or the timeout passes,
// waking on every change of the world.
func (s *Server) WaitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.w.mu.Lock()
		ch := s.w.notify
		s.w.mu.Unlock()
		if cond() {
			return true
		}
		select {
		case <-ch:
		case <-deadline.C:
			return cond()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Commands returns the names of the application commands registered
// globally (guildID "") or in a guild, sorted.
func (s *Server) Commands(guildID string) []string {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	var out []string
	for _, c := range s.w.commands[guildID] {
		out = append(out, c["name"].(string))
	}
	sort.Strings(out)
	return out
}

// addMessage stores a message; w.mu must be held.
func (w *world) addMessage(m *Message) {
	c := w.channels[m.ChannelID]
	c.messages = append(c.messages, m)
	w.messages[m.ID] = m
	w.changed()
}
