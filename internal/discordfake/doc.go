// Package discordfake is a local Discord for tests and benchmarks: the REST
// API and the gateway WebSocket a bot uses, speaking Discord's real wire
// format (API/gateway v10; v9 paths are served too, since discordgo uses
// them) — snowflake ids, "Bot <token>" authorization, JSON error bodies with
// Discord's error codes, X-RateLimit-* headers and 429 answers, the gateway
// opcodes (Hello, Identify, Heartbeat/ACK, Dispatch, Resume, Reconnect,
// Invalid Session), zlib payload compression, intents (message content is
// empty without the MESSAGE_CONTENT intent) and sharding
// ((guild_id >> 22) % num_shards).
//
// A test builds a world, points a discordgo session at it and drives it:
//
//	fake := discordfake.New(discordfake.Options{Token: "t"})
//	defer fake.Close()
//	fake.AddGuild(discordfake.Guild{ID: g, OwnerID: owner})
//	fake.AddChannel(g, ch, "signals")
//	fake.AddMember(g, provider, role)
//	s, _ := discordgo.New("Bot t")
//	s.Client = fake.HTTPClient() // discord.com → the fake; the gateway URL comes from GET /gateway
//	_ = s.Open()
//	id := fake.Post(ch, provider, "/buy AAPL 100")      // MESSAGE_CREATE
//	call := fake.Interact(discordfake.Command{...})     // INTERACTION_CREATE
//	resp, _ := call.Wait(5 * time.Second)               // deferred, then edited
//	dms := fake.DMs(trader)
//
// What is not modelled: voice, presence, threads, reactions, attachments,
// member chunking, and gateway payloads the bot never needs.
package discordfake
