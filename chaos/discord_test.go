package chaos

import "math/rand/v2"

// discordFault disturbs the Discord gateway (not wired yet).
func (c *cluster) discordFault(_ *rand.Rand) {}
