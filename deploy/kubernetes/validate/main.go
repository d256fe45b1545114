// Command validate checks rendered Kubernetes manifests (the multi-document YAML of `kustomize build`)
// strictly against the API types a cluster would apply them with:
//
//   - built-in kinds (apps/v1 Deployment, batch/v1 Job, ...) are decoded into their k8s.io/api structs,
//     rejecting unknown and duplicate fields and values of the wrong type;
//   - monitoring.coreos.com/v1 ServiceMonitor and PrometheusRule likewise into prometheus-operator's types;
//   - custom resources whose CRD is given with -crd (KEDA's ScaledObject, TriggerAuthentication) against the
//     CRD's openAPIV3Schema: unknown properties fail unless the schema preserves unknown fields.
//
// Any other apiVersion/kind fails: a kind nobody validates is not applied unchecked. Every problem is
// printed as `Kind/name: field path: what`, and the exit code is 1 when there is one.
//
//	validate [-crd crd.yaml]... [manifests.yaml|-]
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// typed maps apiVersion/kind to a new value of its Go type.
var typed = map[string]func() any{
	"v1/ConfigMap":                            func() any { return &corev1.ConfigMap{} },
	"v1/Namespace":                            func() any { return &corev1.Namespace{} },
	"v1/Secret":                               func() any { return &corev1.Secret{} },
	"v1/Service":                              func() any { return &corev1.Service{} },
	"v1/ServiceAccount":                       func() any { return &corev1.ServiceAccount{} },
	"apps/v1/Deployment":                      func() any { return &appsv1.Deployment{} },
	"batch/v1/Job":                            func() any { return &batchv1.Job{} },
	"policy/v1/PodDisruptionBudget":           func() any { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/NetworkPolicy":      func() any { return &networkingv1.NetworkPolicy{} },
	"autoscaling/v2/HorizontalPodAutoscaler":  func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return &monitoringv1.ServiceMonitor{} },
	"monitoring.coreos.com/v1/PrometheusRule": func() any { return &monitoringv1.PrometheusRule{} },
}

type crdFlags []string

func (c *crdFlags) String() string     { return strings.Join(*c, ",") }
func (c *crdFlags) Set(v string) error { *c = append(*c, v); return nil }

func main() {
	var crdFiles crdFlags
	flag.Var(&crdFiles, "crd", "a CustomResourceDefinition YAML whose openAPIV3Schema validates its kind (repeatable)")
	flag.Parse()

	schemas := map[string]map[string]any{}
	for _, f := range crdFiles {
		if err := loadCRD(f, schemas); err != nil {
			fmt.Fprintf(os.Stderr, "crd %s: %v\n", f, err)
			os.Exit(2)
		}
	}

	var in io.Reader = os.Stdin
	if flag.NArg() > 0 && flag.Arg(0) != "-" {
		f, err := os.Open(flag.Arg(0))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		defer f.Close()
		in = f
	}

	docs, err := splitDocuments(in)
	if err != nil {
		fmt.Fprintf(os.Stderr, "reading manifests: %v\n", err)
		os.Exit(2)
	}
	var problems []string
	counts := map[string]int{}
	for i, doc := range docs {
		ps, kind := validateDocument(i, doc, schemas)
		problems = append(problems, ps...)
		if kind != "" {
			counts[kind]++
		}
	}
	if len(docs) == 0 {
		problems = append(problems, "no documents")
	}
	for _, p := range problems {
		fmt.Println(p)
	}
	if len(problems) > 0 {
		fmt.Printf("%d problem(s) in %d document(s)\n", len(problems), len(docs))
		os.Exit(1)
	}
	kinds := make([]string, 0, len(counts))
	for k, n := range counts {
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(kinds)
	fmt.Printf("ok: %d documents valid (%s)\n", len(docs), strings.Join(kinds, " "))
}

func splitDocuments(in io.Reader) ([][]byte, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(in))
	var docs [][]byte
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		docs = append(docs, doc)
	}
}

func stripComments(doc []byte) []byte {
	var out []byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' && !bytes.Equal(t, []byte("---")) {
			out = append(out, line...)
			out = append(out, '\n')
		}
	}
	return out
}

// validateDocument returns the problems of one document and its apiVersion/kind.
func validateDocument(index int, doc []byte, schemas map[string]map[string]any) ([]string, string) {
	where := fmt.Sprintf("document %d", index+1)
	data, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return []string{fmt.Sprintf("%s: not valid YAML: %v", where, err)}, ""
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return []string{fmt.Sprintf("%s: %v", where, err)}, ""
	}
	if head.Metadata.Name != "" {
		where = head.Kind + "/" + head.Metadata.Name
	}
	if head.APIVersion == "" || head.Kind == "" {
		return []string{where + ": apiVersion and kind are required"}, ""
	}
	if head.Metadata.Name == "" {
		return []string{fmt.Sprintf("%s (%s %s): metadata.name is required", where, head.APIVersion, head.Kind)}, ""
	}
	gvk := head.APIVersion + "/" + head.Kind
	if newObj, ok := typed[gvk]; ok {
		return decodeStrict(where, data, newObj()), gvk
	}
	if schema, ok := schemas[gvk]; ok {
		return validateCustom(where, data, schema), gvk
	}
	return []string{fmt.Sprintf("%s: unknown kind %s (no type or CRD schema to validate it against)", where, gvk)}, ""
}

// decodeStrict decodes into the typed struct: unknown or duplicate fields and wrong types are problems,
// each naming the field path.
func decodeStrict(where string, data []byte, obj any) []string {
	strictErrs, err := sigsjson.UnmarshalStrict(data, obj, sigsjson.DisallowUnknownFields, sigsjson.DisallowDuplicateFields)
	var problems []string
	if err != nil {
		problems = append(problems, fmt.Sprintf("%s: %s", where, describeDecodeError(err)))
	}
	for _, e := range strictErrs {
		problems = append(problems, fmt.Sprintf("%s: %v", where, e))
	}
	return problems
}

func describeDecodeError(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return fmt.Sprintf("field %s: wrong type: got JSON %s, want %s", typeErr.Field, typeErr.Value, typeErr.Type)
	}
	return err.Error()
}

// loadCRD reads a CustomResourceDefinition and keeps the openAPIV3Schema of each served version.
func loadCRD(file string, schemas map[string]map[string]any) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	docs, err := splitDocuments(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	found := false
	for _, doc := range docs {
		data, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return err
		}
		var crd struct {
			Kind string `json:"kind"`
			Spec struct {
				Group string `json:"group"`
				Names struct {
					Kind string `json:"kind"`
				} `json:"names"`
				Versions []struct {
					Name   string `json:"name"`
					Served bool   `json:"served"`
					Schema struct {
						OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
					} `json:"schema"`
				} `json:"versions"`
			} `json:"spec"`
		}
		if err := decodeNumbers(data, &crd); err != nil {
			return err
		}
		if crd.Kind != "CustomResourceDefinition" {
			continue
		}
		for _, v := range crd.Spec.Versions {
			if v.Served && v.Schema.OpenAPIV3Schema != nil {
				schemas[crd.Spec.Group+"/"+v.Name+"/"+crd.Spec.Names.Kind] = v.Schema.OpenAPIV3Schema
				found = true
			}
		}
	}
	if !found {
		return errors.New("no served version with an openAPIV3Schema")
	}
	return nil
}

func decodeNumbers(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}

// validateCustom checks a custom resource against its CRD schema; metadata is checked as ObjectMeta.
func validateCustom(where string, data []byte, schema map[string]any) []string {
	var obj map[string]any
	if err := decodeNumbers(data, &obj); err != nil {
		return []string{fmt.Sprintf("%s: %v", where, err)}
	}
	var problems []string
	if meta, ok := obj["metadata"]; ok {
		metaJSON, _ := json.Marshal(meta)
		for _, p := range decodeStrict(where, metaJSON, &metav1.ObjectMeta{}) {
			problems = append(problems, strings.Replace(p, where+": ", where+": metadata: ", 1))
		}
	}
	rest := map[string]any{}
	for k, v := range obj {
		if k != "metadata" {
			rest[k] = v
		}
	}
	top := map[string]any{}
	for k, v := range schema {
		top[k] = v
	}
	if props, ok := schema["properties"].(map[string]any); ok {
		p := map[string]any{}
		for k, v := range props {
			if k != "metadata" {
				p[k] = v
			}
		}
		top["properties"] = p
	}
	var errs []string
	checkSchema("", rest, top, &errs)
	for _, e := range errs {
		problems = append(problems, where+": "+e)
	}
	return problems
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func display(path string) string {
	if path == "" {
		return "(root)"
	}
	return path
}

// checkSchema validates a value against an OpenAPI v3 structural schema as the API server does:
// types, required properties, enums, bounds, and no properties the schema does not declare (pruned
// silently by a cluster, so a misspelling would be lost) unless it preserves unknown fields.
func checkSchema(path string, value any, schema map[string]any, errs *[]string) {
	fail := func(format string, args ...any) {
		*errs = append(*errs, fmt.Sprintf("field %s: ", display(path))+fmt.Sprintf(format, args...))
	}
	if value == nil {
		if b, _ := schema["nullable"].(bool); !b {
			fail("null is not allowed")
		}
		return
	}
	if b, _ := schema["x-kubernetes-int-or-string"].(bool); b {
		switch v := value.(type) {
		case string:
		case json.Number:
			if _, err := v.Int64(); err != nil {
				fail("wrong type: want integer or string, got %s", v)
			}
		default:
			fail("wrong type: want integer or string, got %s", typeName(value))
		}
		return
	}
	preserve, _ := schema["x-kubernetes-preserve-unknown-fields"].(bool)
	typ, _ := schema["type"].(string)
	if enum, ok := schema["enum"].([]any); ok && !inEnum(value, enum) {
		fail("value %v is not one of %v", value, enum)
	}
	switch typ {
	case "object":
		obj, ok := value.(map[string]any)
		if !ok {
			fail("wrong type: want object, got %s", typeName(value))
			return
		}
		props, _ := schema["properties"].(map[string]any)
		additional := schema["additionalProperties"]
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps, ok := props[k].(map[string]any); ok {
				checkSchema(join(path, k), obj[k], ps, errs)
				continue
			}
			switch a := additional.(type) {
			case map[string]any:
				checkSchema(join(path, k), obj[k], a, errs)
				continue
			case bool:
				if a {
					continue
				}
			}
			if !preserve {
				*errs = append(*errs, fmt.Sprintf("unknown field %q", join(path, k)))
			}
		}
		if req, ok := schema["required"].([]any); ok {
			for _, r := range req {
				if name, _ := r.(string); name != "" {
					if _, present := obj[name]; !present {
						*errs = append(*errs, fmt.Sprintf("field %s: required", join(path, name)))
					}
				}
			}
		}
		checkCount(schema, len(obj), "minProperties", "maxProperties", fail)
	case "array":
		arr, ok := value.([]any)
		if !ok {
			fail("wrong type: want array, got %s", typeName(value))
			return
		}
		if items, ok := schema["items"].(map[string]any); ok {
			for i, item := range arr {
				checkSchema(fmt.Sprintf("%s[%d]", path, i), item, items, errs)
			}
		}
		checkCount(schema, len(arr), "minItems", "maxItems", fail)
	case "string":
		s, ok := value.(string)
		if !ok {
			fail("wrong type: want string, got %s", typeName(value))
			return
		}
		checkCount(schema, len(s), "minLength", "maxLength", fail)
	case "integer":
		n, ok := value.(json.Number)
		if !ok {
			fail("wrong type: want integer, got %s", typeName(value))
			return
		}
		i, err := n.Int64()
		if err != nil {
			fail("wrong type: want integer, got %s", n)
			return
		}
		if lo, ok := number(schema["minimum"]); ok && float64(i) < lo {
			fail("%d is below the minimum %v", i, lo)
		}
		if hi, ok := number(schema["maximum"]); ok && float64(i) > hi {
			fail("%d is above the maximum %v", i, hi)
		}
	case "number":
		if _, ok := value.(json.Number); !ok {
			fail("wrong type: want number, got %s", typeName(value))
		}
	case "boolean":
		if _, ok := value.(bool); !ok {
			fail("wrong type: want boolean, got %s", typeName(value))
		}
	case "":
		// No type: only an object that preserves unknown fields, or any value (x-kubernetes-embedded-resource).
	default:
		fail("schema type %q is not supported by this validator", typ)
	}
}

func checkCount(schema map[string]any, n int, minKey, maxKey string, fail func(string, ...any)) {
	if lo, ok := number(schema[minKey]); ok && float64(n) < lo {
		fail("%d is fewer than %s %v", n, minKey, lo)
	}
	if hi, ok := number(schema[maxKey]); ok && float64(n) > hi {
		fail("%d is more than %s %v", n, maxKey, hi)
	}
}

func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

func inEnum(value any, enum []any) bool {
	for _, e := range enum {
		if fmt.Sprint(e) == fmt.Sprint(value) {
			return true
		}
	}
	return false
}

func typeName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	default:
		return fmt.Sprintf("%T", v)
	}
}
