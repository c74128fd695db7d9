// Package web is the trader's dashboard: TypeScript sources in src/, built
// by `make web` (npm ci + vite build) into dist/, which this package embeds
// so the Go binary serves the dashboard itself.
//
// dist/ holds only .gitkeep in a fresh clone: the Go build compiles, and
// the dashboard answers "not built" until `make web` has run (`make build`,
// `make run` and `make test` run it first).
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist is the built dashboard (index.html, assets/…), rooted at dist/.
var Dist fs.FS = mustSub(dist, "dist")

// Built reports whether Dist holds a built dashboard.
func Built() bool {
	_, err := fs.Stat(Dist, "index.html")
	return err == nil
}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
