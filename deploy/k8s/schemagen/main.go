// Command schemagen turns Kubernetes' own OpenAPI v2 document
// (api/openapi-spec/swagger.json of the k8s.io/kubernetes module, fetched
// from the Go module proxy at a pinned version) into the strict standalone
// JSON schemas kubeconform reads — what yannh/kubernetes-json-schema
// publishes, made here because CI has no internet (DESIGN §8 Deployment).
//
//	go run ./deploy/k8s/schemagen -spec swagger.json -out bin/k8s-schemas/v1.34.2
//
// One file per group/version/kind, named as kubeconform's default template
// {{ .ResourceKind }}{{ .KindSuffix }}.json expects (deployment-apps-v1.json,
// service-v1.json). Strict, like openapi2jsonschema --strict: an object
// with declared properties refuses any other (a misspelt field fails);
// int-or-string and quantities accept both forms, as the API server does.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type gvk struct {
	Group   string `json:"group"`
	Version string `json:"version"`
	Kind    string `json:"kind"`
}

func main() {
	spec := flag.String("spec", "", "Kubernetes swagger.json")
	out := flag.String("out", "", "output directory")
	flag.Parse()
	if *spec == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: schemagen -spec swagger.json -out DIR")
		os.Exit(2)
	}
	if err := run(*spec, *out); err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}

func run(specPath, out string) error {
	raw, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	var doc struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("%s: %w", specPath, err)
	}
	if len(doc.Definitions) == 0 {
		return fmt.Errorf("%s has no definitions", specPath)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	names := make([]string, 0, len(doc.Definitions))
	for n := range doc.Definitions {
		names = append(names, n)
	}
	sort.Strings(names)
	g := &gen{defs: doc.Definitions}
	written := 0
	for _, name := range names {
		def := doc.Definitions[name]
		kinds, _ := def["x-kubernetes-group-version-kind"].([]any)
		for _, k := range kinds {
			b, _ := json.Marshal(k)
			var id gvk
			if err := json.Unmarshal(b, &id); err != nil || id.Kind == "" {
				continue
			}
			schema := g.inline(name, map[string]bool{})
			schema["$schema"] = "http://json-schema.org/schema#"
			data, err := json.Marshal(schema)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(out, fileName(id)), data, 0o644); err != nil {
				return err
			}
			written++
		}
	}
	fmt.Printf("schemagen: %d schemas in %s\n", written, out)
	return nil
}

// fileName is kubeconform's default {{ .ResourceKind }}{{ .KindSuffix }}.json.
func fileName(id gvk) string {
	suffix := "-" + id.Version
	if id.Group != "" {
		suffix = "-" + strings.Split(id.Group, ".")[0] + "-" + id.Version
	}
	return strings.ToLower(id.Kind) + strings.ToLower(suffix) + ".json"
}

type gen struct{ defs map[string]map[string]any }

// inline returns the definition with every $ref replaced by its target;
// a recursive reference (JSONSchemaProps) becomes "anything".
func (g *gen) inline(name string, seen map[string]bool) map[string]any {
	switch name {
	case "io.k8s.apimachinery.pkg.util.intstr.IntOrString":
		return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
	case "io.k8s.apimachinery.pkg.api.resource.Quantity":
		return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}}
	}
	def, ok := g.defs[name]
	if !ok || seen[name] {
		return map[string]any{}
	}
	seen[name] = true
	defer delete(seen, name)
	return g.walk(def, seen).(map[string]any)
}

func (g *gen) walk(v any, seen map[string]bool) any {
	switch t := v.(type) {
	case map[string]any:
		if ref, ok := t["$ref"].(string); ok {
			return g.inline(strings.TrimPrefix(ref, "#/definitions/"), seen)
		}
		out := make(map[string]any, len(t)+1)
		for k, val := range t {
			switch k {
			case "description", "x-kubernetes-group-version-kind", "x-kubernetes-list-map-keys", "x-kubernetes-list-type",
				"x-kubernetes-patch-merge-key", "x-kubernetes-patch-strategy", "x-kubernetes-map-type", "x-kubernetes-unions":
				continue
			case "properties":
				props := map[string]any{}
				for pk, pv := range val.(map[string]any) {
					props[pk] = g.walk(pv, seen)
				}
				out[k] = props
			default:
				out[k] = g.walk(val, seen)
			}
		}
		if f, _ := t["format"].(string); f == "int-or-string" {
			return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
		}
		if _, hasProps := t["properties"]; hasProps && t["x-kubernetes-preserve-unknown-fields"] != true {
			out["additionalProperties"] = false
		}
		// Objects may be written with null values in YAML (an empty key).
		if typ, ok := out["type"].(string); ok && typ != "" {
			out["type"] = []any{typ, "null"}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i := range t {
			out[i] = g.walk(t[i], seen)
		}
		return out
	}
	return v
}
