// SPDX-License-Identifier: Apache-2.0

package stream_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trailaudit/trail/internal/stream"
)

// ocsfSchemaDir is the committed subset of the OCSF schema; set
// TRAIL_OCSF_SCHEMA to check against another copy (such as the full
// snapshot in ../shared/reference/ocsf-schema).
func ocsfSchemaDir() string {
	if d := os.Getenv("TRAIL_OCSF_SCHEMA"); d != "" {
		return d
	}
	return filepath.Join("testdata", "ocsf-schema")
}

// ocsfClasses indexes the class files of the categories Trail maps to,
// by class_uid.
func ocsfClasses(t *testing.T, s *ocsfSchema) map[int]string {
	t.Helper()
	out := map[int]string{}
	for _, cat := range []string{"iam", "application"} {
		files, err := filepath.Glob(filepath.Join(s.dir, "events", cat, "*.json"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no OCSF class files for %s in %s", cat, s.dir)
		}
		for _, f := range files {
			rel, _ := filepath.Rel(s.dir, f)
			var cf ocsfFile
			s.readJSON(t, rel, &cf)
			if cf.UID != 0 {
				out[s.cats[cat]*1000+cf.UID] = rel
			}
		}
	}
	return out
}

// TestOCSFEveryType renders one event of every catalog type (and events
// whose values need escaping) in the ocsf format and checks each against
// its class's definition in the OCSF schema files: every attribute known
// to the class or object, of the right type, enum values valid, required
// attributes and object constraints met, the ids consistent, and the
// values those of the stored event.
func TestOCSFEveryType(t *testing.T) {
	s := loadOCSFSchema(t, ocsfSchemaDir())
	classes := ocsfClasses(t, s)
	f, _ := stream.LookupFormat("ocsf")
	for _, ev := range append(everyType(t), hardOnes(t)...) {
		out, err := f(nil, ev.ev)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			t.Fatalf("%s: not JSON: %v\n%s", ev.doc.Type, err, out)
		}
		uid := ocsfNum(obj["class_uid"])
		rel, ok := classes[int(uid)]
		if !ok {
			t.Errorf("%s: class_uid %v is not an OCSF class", ev.doc.Type, obj["class_uid"])
			continue
		}
		class := s.class(t, rel)
		pinClassIDs(class, s.cats[class.Category])
		var errs []string
		if class.Deprecated {
			errs = append(errs, "class "+class.Name+" is deprecated")
		}
		errs = append(errs, s.check(t, class, obj, "")...)
		errs = append(errs, ocsfConsistent(s, class, obj, ev)...)
		if len(errs) > 0 {
			t.Errorf("%s (%s) breaks OCSF %s:\n  %s\n%s", ev.doc.Type, ev.doc.ID, class.Name, strings.Join(errs, "\n  "), out)
		}
	}
	if os.Getenv("TRAIL_OCSF_LIST") != "" {
		fmt.Println(strings.Join(slices.Sorted(func(yield func(string) bool) {
			for k := range s.loaded {
				if !yield(k) {
					return
				}
			}
		}), "\n"))
	}
}

// ocsfConsistent checks the ids against each other and the schema, and
// the values against the stored event.
func ocsfConsistent(s *ocsfSchema, class *ocsfDef, obj map[string]any, ev storedEv) []string {
	var errs []string
	want := func(what string, got, exp any) {
		if fmt.Sprint(got) != fmt.Sprint(exp) {
			errs = append(errs, fmt.Sprintf("%s = %v, want %v", what, got, exp))
		}
	}
	classUID, act := ocsfNum(obj["class_uid"]), ocsfNum(obj["activity_id"])
	want("category_uid", obj["category_uid"], s.cats[class.Category])
	want("class_name", obj["class_name"], class.Caption)
	want("type_uid", obj["type_uid"], classUID*100+act)
	actAttr, _ := s.attr(class, "activity_id")
	if act != 99 {
		want("activity_name", obj["activity_name"], ocsfCaption(actAttr.Enum[fmt.Sprint(act)]))
	} else if obj["activity_name"] == "" {
		errs = append(errs, "activity_id 99 (Other) without an activity_name")
	}
	want("type_name", obj["type_name"], fmt.Sprint(class.Caption, ": ", obj["activity_name"]))
	sevAttr, _ := s.attr(class, "severity_id")
	want("severity", obj["severity"], ocsfCaption(sevAttr.Enum[fmt.Sprint(obj["severity_id"])]))
	stAttr, _ := s.attr(class, "status_id")
	want("status", obj["status"], ocsfCaption(stAttr.Enum[fmt.Sprint(obj["status_id"])]))
	md, _ := obj["metadata"].(map[string]any)
	d := ev.doc
	want("metadata.version", md["version"], s.version)
	want("metadata.uid", md["uid"], d.ID)
	want("metadata.tenant_uid", md["tenant_uid"], d.Org)
	want("metadata.logged_time", md["logged_time"], d.ReceivedAt.UnixMilli())
	want("time", obj["time"], d.OccurredAt.UnixMilli())
	want("message", obj["message"], d.Description)
	actor, _ := obj["actor"].(map[string]any)
	user, _ := actor["user"].(map[string]any)
	want("actor.user.uid", user["uid"], d.Actor.ID)
	if d.Client != nil {
		src, _ := obj["src_endpoint"].(map[string]any)
		want("src_endpoint.ip", src["ip"], d.Client.IP)
	}
	var orig map[string]any
	_ = json.Unmarshal(ev.ev.Data, &orig)
	want("metadata.original_time", md["original_time"], orig["occurred_at"])
	return errs
}

// pinClassIDs gives class_uid, category_uid and type_uid the one-value
// (type_uid: one per activity) enums the OCSF compiler derives for a class;
// the files leave only base_event's "0" there.
func pinClassIDs(class *ocsfDef, cat int) {
	uid := cat*1000 + class.UID
	pin := func(name string, vals ...int) {
		a := class.Attrs[name]
		a.Enum = map[string]json.RawMessage{}
		for _, v := range vals {
			a.Enum[fmt.Sprint(v)] = json.RawMessage(`{}`)
		}
		class.Attrs[name] = a
	}
	pin("class_uid", uid)
	pin("category_uid", cat)
	var types []int
	for id := range class.Attrs["activity_id"].Enum {
		var n int
		fmt.Sscan(id, &n)
		types = append(types, uid*100+n)
	}
	pin("type_uid", types...)
}

func ocsfNum(v any) int64 {
	n, _ := v.(json.Number).Int64()
	return n
}

func ocsfCaption(raw json.RawMessage) string {
	var c struct{ Caption string }
	_ = json.Unmarshal(raw, &c)
	return c.Caption
}

// TestOCSFClasses pins the class and activity of representative types
// (the table in docs/streaming-formats.md).
func TestOCSFClasses(t *testing.T) {
	f, _ := stream.LookupFormat("ocsf")
	byType := map[string]storedEv{}
	for _, ev := range everyType(t) {
		byType[ev.doc.Type] = ev
	}
	for _, tc := range []struct {
		typ             string
		class, activity int64
	}{
		{"org.sso_login", 3002, 1}, {"org.sso_join", 3006, 3}, {"org.add_user", 3006, 3},
		{"org.remove_user", 3006, 4}, {"org.leave", 3006, 4}, {"org.invite_user", 3006, 99},
		{"org.change_role", 3007, 16}, {"resource_group.change_role", 3007, 16},
		{"resource_group.create", 3006, 6}, {"resource_group.delete", 3006, 5},
		{"resource_group.add_users", 3006, 3}, {"resource_group.settings", 3006, 9},
		{"org.audit_log.view", 6003, 2}, {"org.audit_log.export", 6003, 2},
		{"org.create", 3004, 1}, {"org.delete", 3004, 4}, {"org.rename", 3004, 3},
		{"org.settings.sso.enable", 3004, 8}, {"org.settings.security.2fa.disable", 3004, 9},
		{"repo.create", 3004, 1}, {"repo.delete", 3004, 4}, {"repo.move", 3004, 5},
		{"repo.removeDisable", 3004, 8}, {"repo.add_secret", 3004, 1}, {"billing.aws_remove", 3004, 4},
		{"billing.un_cancel_subscription", 3004, 13}, {"billing.cancel_subscription", 3004, 11},
		{"scheduled_job.run", 3004, 10}, {"scheduled_job.suspend", 3004, 12}, {"scheduled_job.resume", 3004, 13},
	} {
		ev, ok := byType[tc.typ]
		if !ok {
			t.Fatalf("no event of type %s", tc.typ)
		}
		out, _ := f(nil, ev.ev)
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			t.Fatal(err)
		}
		if c, a := ocsfNum(obj["class_uid"]), ocsfNum(obj["activity_id"]); c != tc.class || a != tc.activity {
			t.Errorf("%s: class %d activity %d, want %d %d", tc.typ, c, a, tc.class, tc.activity)
		}
	}
}

// TestOCSFCheckerCatches makes sure the schema check can fail: each
// mutation of a valid event must be reported.
func TestOCSFCheckerCatches(t *testing.T) {
	s := loadOCSFSchema(t, ocsfSchemaDir())
	classes := ocsfClasses(t, s)
	f, _ := stream.LookupFormat("ocsf")
	ev := everyType(t)[0]
	for _, tc := range []struct {
		name   string
		mutate func(map[string]any)
	}{
		{"unknown attribute", func(o map[string]any) { o["trail_seq"] = json.Number("1") }},
		{"missing required", func(o map[string]any) { delete(o, "metadata") }},
		{"missing required in object", func(o map[string]any) { delete(o["metadata"].(map[string]any), "product") }},
		{"bad enum", func(o map[string]any) { o["activity_id"] = json.Number("77") }},
		{"wrong type", func(o map[string]any) { o["time"] = "yesterday" }},
		{"not an ip", func(o map[string]any) { o["src_endpoint"] = map[string]any{"ip": "999.1.1.1"} }},
		{"constraint", func(o map[string]any) { o["actor"] = map[string]any{} }},
		{"array expected", func(o map[string]any) { o["metadata"].(map[string]any)["labels"] = "x" }},
	} {
		out, _ := f(nil, ev.ev)
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			t.Fatal(err)
		}
		class := s.class(t, classes[int(ocsfNum(obj["class_uid"]))])
		pinClassIDs(class, s.cats[class.Category])
		if errs := s.check(t, class, obj, ""); len(errs) != 0 {
			t.Fatalf("unmutated event fails: %v", errs)
		}
		tc.mutate(obj)
		if errs := s.check(t, class, obj, ""); len(errs) == 0 {
			t.Errorf("%s: the check found nothing wrong", tc.name)
		}
	}
}
