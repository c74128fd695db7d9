package churn

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEvaluateCLI(t *testing.T) {
	var out, errb bytes.Buffer
	require.Equal(t, 0, RunCLI([]string{"evaluate"}, &out, &errb), errb.String())
	require.Contains(t, out.String(), "held-out")
	require.Contains(t, out.String(), "SC-011 (held-out F1 > 0.70): PASS")

	out.Reset()
	require.Equal(t, 0, RunCLI([]string{"evaluate", "--json", "--seed", "7", "--traders", "3000"}, &out, &errb))
	require.True(t, strings.HasPrefix(out.String(), "{"))
	require.Contains(t, out.String(), `"heldOut"`)

	for _, args := range [][]string{{}, {"nope"}, {"evaluate", "--traders", "5"}, {"evaluate", "extra"}, {"evaluate", "--seed", "x"}} {
		errb.Reset()
		require.Equal(t, 2, RunCLI(args, &out, &errb), "%v", args)
		require.NotEmpty(t, errb.String())
	}
}
