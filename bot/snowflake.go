package bot

import (
	"strconv"
	"time"
)

// discordEpoch is the first millisecond of 2015, the origin of snowflake
// timestamps.
const discordEpoch = 1420070400000

// snowflakeTime is when a Discord id (message, interaction) was created:
// the bot measures a signal's age from it, not from its own clock's view
// of when the event arrived.
func snowflakeTime(id string) (time.Time, bool) {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(int64(n>>22) + discordEpoch).UTC(), true
}

// onShard reports whether a guild's events reach a shard:
// (guild_id >> 22) % num_shards == shard_id.
func onShard(guildID string, shard [2]int) bool {
	id, num := shard[0], shard[1]
	if num <= 1 {
		return true
	}
	if id < 0 {
		return false
	}
	n, err := strconv.ParseUint(guildID, 10, 64)
	if err != nil {
		return false
	}
	return (n>>22)%uint64(num) == uint64(id)
}
