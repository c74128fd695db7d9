package sources

import (
	"context"
	"errors"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// Parse modes of a source.
const (
	ModeStrict   = "strict"   // the /buy /sell command grammar (signal.ParseDiscord)
	ModeFreeform = "freeform" // the providers' layout (signal.ParseFreeform)
)

// Source statuses.
const (
	StatusPending  = "pending"  // registered on the dashboard, waiting for the bot's check
	StatusActive   = "active"   // signals are executed
	StatusPaused   = "paused"   // the owner paused it; messages are ignored
	StatusRejected = "rejected" // the bot's check failed (StatusReason says why)
)

// Author kinds.
const (
	AuthorUser = "user"
	AuthorRole = "role"
)

// DefaultMaxAge is how old a message may be when received and still be
// executed, unless the source sets its own (SPEC assumption 1: stale
// signals are never executed).
const DefaultMaxAge = 60 * time.Second

const (
	maxAuthors    = 50
	maxNameLen    = 100
	maxMaxAgeSecs = 3600
)

var snowflakeRe = regexp.MustCompile(`^[0-9]{15,21}$`)

// Author is a Discord user or role allowed to post signals.
type Author struct {
	Kind      string `json:"kind"`
	DiscordID string `json:"discordId"`
}

// Source is a source with its authors.
type Source struct {
	schema.DiscordSource
	Authors []Author
}

// MaxAge is the source's staleness limit.
func (s Source) MaxAge() time.Duration {
	if s.MaxAgeSeconds > 0 {
		return time.Duration(s.MaxAgeSeconds) * time.Second
	}
	return DefaultMaxAge
}

// Authorized reports whether a message by authorID, who holds roles in the
// guild, is from an authorized author.
func (s Source) Authorized(authorID string, roles []string) bool {
	for _, a := range s.Authors {
		switch a.Kind {
		case AuthorUser:
			if a.DiscordID == authorID {
				return true
			}
		case AuthorRole:
			for _, r := range roles {
				if r == a.DiscordID {
					return true
				}
			}
		}
	}
	return false
}

// ValidSnowflake reports whether id looks like a Discord id.
func ValidSnowflake(id string) bool { return snowflakeRe.MatchString(id) }

// RegisterInput registers a channel as a source.
type RegisterInput struct {
	GuildID, ChannelID string
	Name               string
	OwnerUserID        string // the trader (provider) who registers it
	RegisteredBy       string // their Discord account id
	Mode               string
	Authors            []Author
	SummaryReplies     bool
	MaxAgeSeconds      int
	// Verified is true when Discord attested the registrant's admin
	// permission (slash command): the source is active at once. Otherwise
	// it is pending until the bot has checked.
	Verified bool
	// StillAdmin, given with Verified, tells whether a Discord account
	// still owns the server or holds Manage Server there; a verified
	// registrant takes over an active source whose owner no longer does.
	StillAdmin func(ctx context.Context, guildID, discordID string) (bool, error)
}

// ActionSourceReassigned: a channel's source passed to a verified admin
// (the previous registration was not active, or its owner lost the
// server's Manage Server permission).
const ActionSourceReassigned = "SOURCE_REASSIGNED"

func validateCommon(name, mode string, maxAge int, authors []Author) error {
	if strings.TrimSpace(name) == "" || utf8.RuneCountInString(name) > maxNameLen {
		return invalid("name", "Name must be 1 to 100 characters.")
	}
	if mode != ModeStrict && mode != ModeFreeform {
		return invalid("mode", "Parse mode must be strict or freeform.")
	}
	if maxAge < 0 || maxAge > maxMaxAgeSecs {
		return invalid("maxAgeSeconds", "Maximum signal age must be from 0 (default, 60 s) to 3600 seconds.")
	}
	if len(authors) > maxAuthors {
		return invalid("authors", "At most 50 authorized users and roles per source.")
	}
	for _, a := range authors {
		if (a.Kind != AuthorUser && a.Kind != AuthorRole) || !ValidSnowflake(a.DiscordID) {
			return invalid("authors", "Each authorized author must be a Discord user or role id.")
		}
	}
	return nil
}

// Register creates the source, or updates it when the same owner registers
// the channel again. A channel registered by someone else is a conflict —
// unless this registration is verified by a current server admin and the
// other one is not active (pending, rejected) or its owner is no longer an
// admin there: then the verified admin takes it over (issue 13 #3; a
// first registrant cannot squat a channel forever).
func Register(ctx context.Context, db *gorm.DB, in RegisterInput) (Source, error) {
	if !ValidSnowflake(in.GuildID) || !ValidSnowflake(in.ChannelID) {
		return Source{}, invalid("channelId", "Guild and channel must be Discord ids.")
	}
	if in.OwnerUserID == "" || !ValidSnowflake(in.RegisteredBy) {
		return Source{}, invalid("", "Link your Discord account to tradeexec before registering a source.")
	}
	in.Name = strings.TrimSpace(in.Name)
	if err := validateCommon(in.Name, in.Mode, in.MaxAgeSeconds, in.Authors); err != nil {
		return Source{}, err
	}
	if len(in.Authors) == 0 {
		in.Authors = []Author{{Kind: AuthorUser, DiscordID: in.RegisteredBy}}
	}
	// Whether the current owner is still an admin is asked of Discord
	// before the transaction (no network call inside it).
	var existing schema.DiscordSource
	ownerGone := false
	if err := db.WithContext(ctx).Where("channel_id = ?", in.ChannelID).First(&existing).Error; err == nil &&
		in.Verified && existing.OwnerUserID != in.OwnerUserID && existing.Status == StatusActive && in.StillAdmin != nil {
		still, err := in.StillAdmin(ctx, existing.GuildID, existing.RegisteredByDiscordID)
		if err != nil {
			return Source{}, err
		}
		ownerGone = !still
	}
	var out Source
	err := store.InTx(ctx, db, func(tx *gorm.DB) error {
		now := time.Now().UTC()
		var row schema.DiscordSource
		err := tx.Where("channel_id = ?", in.ChannelID).First(&row).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			row = schema.DiscordSource{ID: uuid.NewString(), GuildID: in.GuildID, ChannelID: in.ChannelID, CreatedAt: now}
		case err != nil:
			return err
		case row.GuildID != in.GuildID:
			return invalid("guildId", "This channel belongs to another server.")
		case row.OwnerUserID != in.OwnerUserID:
			takeover := in.Verified && (row.Status != StatusActive || (ownerGone && row.OwnerUserID == existing.OwnerUserID))
			if !takeover {
				return &Error{Code: CodeConflict, Field: "channelId", Message: "This channel is already registered as a signal source by another provider."}
			}
			for _, uid := range []string{row.OwnerUserID, in.OwnerUserID} {
				if _, err := audit.Append(tx, audit.Entry{UserID: uid, Action: ActionSourceReassigned, ResourceType: "DiscordSource",
					ResourceID: row.ID, Status: audit.StatusSuccess, At: now, Details: map[string]any{
						"channelId": row.ChannelID, "previousOwner": row.OwnerUserID, "newOwner": in.OwnerUserID,
						"previousStatus": row.Status, "reason": map[bool]string{true: "owner no longer a server admin", false: "registration not active"}[row.Status == StatusActive]}}); err != nil {
					return err
				}
			}
		}
		row.Name, row.OwnerUserID, row.ParseMode = in.Name, in.OwnerUserID, in.Mode
		row.SummaryReplies, row.MaxAgeSeconds, row.RegisteredByDiscordID = in.SummaryReplies, in.MaxAgeSeconds, in.RegisteredBy
		row.UpdatedAt = now
		if in.Verified {
			row.Status, row.StatusReason = StatusActive, ""
		} else if row.Status != StatusActive {
			row.Status, row.StatusReason = StatusPending, ""
		}
		if err := tx.Save(&row).Error; err != nil {
			return err
		}
		if err := replaceAuthors(tx, row.ID, in.Authors, now); err != nil {
			return err
		}
		out = Source{DiscordSource: row, Authors: dedupeAuthors(in.Authors)}
		return nil
	})
	return out, err
}

func dedupeAuthors(in []Author) []Author {
	seen := map[Author]bool{}
	var out []Author
	for _, a := range in {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].DiscordID < out[j].DiscordID
	})
	return out
}

func replaceAuthors(tx *gorm.DB, sourceID string, authors []Author, now time.Time) error {
	if err := tx.Where("source_id = ?", sourceID).Delete(&schema.DiscordSourceAuthor{}).Error; err != nil {
		return err
	}
	for _, a := range dedupeAuthors(authors) {
		row := schema.DiscordSourceAuthor{ID: uuid.NewString(), SourceID: sourceID, Kind: a.Kind, DiscordID: a.DiscordID, CreatedAt: now}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
	}
	return nil
}

// SetAuthor allows (or, with allowed false, disallows) one author.
func SetAuthor(ctx context.Context, db *gorm.DB, sourceID string, a Author, allowed bool) error {
	if (a.Kind != AuthorUser && a.Kind != AuthorRole) || !ValidSnowflake(a.DiscordID) {
		return invalid("authors", "The authorized author must be a Discord user or role.")
	}
	return store.InTx(ctx, db, func(tx *gorm.DB) error {
		q := tx.Where("source_id = ? AND kind = ? AND discord_id = ?", sourceID, a.Kind, a.DiscordID)
		if !allowed {
			return q.Delete(&schema.DiscordSourceAuthor{}).Error
		}
		var n int64
		if err := tx.Model(&schema.DiscordSourceAuthor{}).Where("source_id = ?", sourceID).Count(&n).Error; err != nil {
			return err
		}
		var existing int64
		if err := q.Model(&schema.DiscordSourceAuthor{}).Count(&existing).Error; err != nil {
			return err
		}
		if existing > 0 {
			return nil
		}
		if n >= maxAuthors {
			return invalid("authors", "At most 50 authorized users and roles per source.")
		}
		return tx.Create(&schema.DiscordSourceAuthor{ID: uuid.NewString(), SourceID: sourceID, Kind: a.Kind,
			DiscordID: a.DiscordID, CreatedAt: time.Now().UTC()}).Error
	})
}

// Patch changes a source's settings; nil fields are left alone.
type Patch struct {
	Name           *string
	Mode           *string
	MaxAgeSeconds  *int
	SummaryReplies *bool
	Paused         *bool
	Authors        *[]Author
}

// Update applies a patch to a source owned by ownerID.
func Update(ctx context.Context, db *gorm.DB, ownerID, sourceID string, p Patch) (Source, error) {
	var out Source
	err := store.InTx(ctx, db, func(tx *gorm.DB) error {
		src, err := loadOwned(tx, ownerID, sourceID)
		if err != nil {
			return err
		}
		row := src.DiscordSource
		if p.Name != nil {
			row.Name = strings.TrimSpace(*p.Name)
		}
		if p.Mode != nil {
			row.ParseMode = *p.Mode
		}
		if p.MaxAgeSeconds != nil {
			row.MaxAgeSeconds = *p.MaxAgeSeconds
		}
		if p.SummaryReplies != nil {
			row.SummaryReplies = *p.SummaryReplies
		}
		authors := src.Authors
		if p.Authors != nil {
			authors = *p.Authors
			if len(authors) == 0 {
				return invalid("authors", "A source needs at least one authorized user or role.")
			}
		}
		if err := validateCommon(row.Name, row.ParseMode, row.MaxAgeSeconds, authors); err != nil {
			return err
		}
		if p.Paused != nil {
			switch {
			case *p.Paused && row.Status == StatusActive:
				row.Status = StatusPaused
			case !*p.Paused && row.Status == StatusPaused:
				row.Status = StatusActive
			case row.Status == StatusPending || row.Status == StatusRejected:
				return &Error{Code: CodeConflict, Field: "paused", Message: "Only a verified source can be paused or resumed."}
			}
		}
		row.UpdatedAt = time.Now().UTC()
		if err := tx.Save(&row).Error; err != nil {
			return err
		}
		if p.Authors != nil {
			if err := replaceAuthors(tx, row.ID, authors, row.UpdatedAt); err != nil {
				return err
			}
		}
		out = Source{DiscordSource: row, Authors: dedupeAuthors(authors)}
		return nil
	})
	return out, err
}

// Delete removes a source owned by ownerID (its subscriptions and message
// log go with it; trades already made stay).
func Delete(ctx context.Context, db *gorm.DB, ownerID, sourceID string) error {
	return store.InTx(ctx, db, func(tx *gorm.DB) error {
		if _, err := loadOwned(tx, ownerID, sourceID); err != nil {
			return err
		}
		return tx.Delete(&schema.DiscordSource{ID: sourceID}).Error
	})
}

// SetStatus records the bot's verification result of a pending source.
func SetStatus(ctx context.Context, db *gorm.DB, sourceID, status, reason string) error {
	return db.WithContext(ctx).Model(&schema.DiscordSource{}).Where("id = ? AND status = ?", sourceID, StatusPending).
		Updates(map[string]any{"status": status, "status_reason": reason, "updated_at": time.Now().UTC()}).Error
}

// Unverify rejects an active source whose registrant no longer
// administers the server (periodic re-verification), with the reason; a
// current admin may then register the channel again.
func Unverify(ctx context.Context, db *gorm.DB, sourceID, reason string) error {
	return store.InTx(ctx, db, func(tx *gorm.DB) error {
		var row schema.DiscordSource
		if err := tx.Where("id = ? AND status = ?", sourceID, StatusActive).Take(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return nil
			}
			return err
		}
		now := time.Now().UTC()
		if err := tx.Model(&schema.DiscordSource{}).Where("id = ?", sourceID).
			Updates(map[string]any{"status": StatusRejected, "status_reason": reason, "updated_at": now}).Error; err != nil {
			return err
		}
		_, err := audit.Append(tx, audit.Entry{UserID: row.OwnerUserID, Action: ActionSourceUnverified, ResourceType: "DiscordSource",
			ResourceID: row.ID, Status: audit.StatusFailure, At: now, ErrorMessage: reason, Details: map[string]any{"channelId": row.ChannelID}})
		return err
	})
}

// ActionSourceUnverified: an active source's registrant no longer
// administers the server.
const ActionSourceUnverified = "SOURCE_UNVERIFIED"

func loadOwned(tx *gorm.DB, ownerID, sourceID string) (Source, error) {
	if _, err := uuid.Parse(sourceID); err != nil {
		return Source{}, ErrSourceNotFound
	}
	var row schema.DiscordSource
	err := tx.Where("id = ? AND owner_user_id = ?", sourceID, ownerID).First(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Source{}, ErrSourceNotFound
	}
	if err != nil {
		return Source{}, err
	}
	srcs, err := withAuthors(tx, []schema.DiscordSource{row})
	if err != nil {
		return Source{}, err
	}
	return srcs[0], nil
}

// Get loads one source by id (any status).
func Get(ctx context.Context, db *gorm.DB, sourceID string) (Source, error) {
	if _, err := uuid.Parse(sourceID); err != nil {
		return Source{}, ErrSourceNotFound
	}
	var row schema.DiscordSource
	err := db.WithContext(ctx).Where("id = ?", sourceID).First(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Source{}, ErrSourceNotFound
	}
	if err != nil {
		return Source{}, err
	}
	srcs, err := withAuthors(db.WithContext(ctx), []schema.DiscordSource{row})
	if err != nil {
		return Source{}, err
	}
	return srcs[0], nil
}

// ByChannel loads the source registered for a channel (any status).
func ByChannel(ctx context.Context, db *gorm.DB, channelID string) (Source, error) {
	var row schema.DiscordSource
	err := db.WithContext(ctx).Where("channel_id = ?", channelID).First(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Source{}, ErrSourceNotFound
	}
	if err != nil {
		return Source{}, err
	}
	srcs, err := withAuthors(db.WithContext(ctx), []schema.DiscordSource{row})
	if err != nil {
		return Source{}, err
	}
	return srcs[0], nil
}

// List returns sources in a stable order: every source with one of the
// statuses, plus (when ownerID is set) every source of that owner.
func List(ctx context.Context, db *gorm.DB, statuses []string, ownerID string) ([]Source, error) {
	q := db.WithContext(ctx).Model(&schema.DiscordSource{})
	switch {
	case len(statuses) > 0 && ownerID != "":
		q = q.Where("status IN ? OR owner_user_id = ?", statuses, ownerID)
	case len(statuses) > 0:
		q = q.Where("status IN ?", statuses)
	case ownerID != "":
		q = q.Where("owner_user_id = ?", ownerID)
	}
	var rows []schema.DiscordSource
	if err := q.Order("name, id").Find(&rows).Error; err != nil {
		return nil, err
	}
	return withAuthors(db.WithContext(ctx), rows)
}

func withAuthors(db *gorm.DB, rows []schema.DiscordSource) ([]Source, error) {
	out := make([]Source, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]string, len(rows))
	idx := map[string]int{}
	for i, r := range rows {
		ids[i] = r.ID
		idx[r.ID] = i
		out[i] = Source{DiscordSource: r}
	}
	var authors []schema.DiscordSourceAuthor
	if err := db.Where("source_id IN ?", ids).Order("kind, discord_id").Find(&authors).Error; err != nil {
		return nil, err
	}
	for _, a := range authors {
		i := idx[a.SourceID]
		out[i].Authors = append(out[i].Authors, Author{Kind: a.Kind, DiscordID: a.DiscordID})
	}
	return out, nil
}
