//go:build race

package audit_test

// raceEnabled: the race detector slows the export tenfold.
const raceEnabled = true
