// SPDX-License-Identifier: Apache-2.0

package stream

import (
	"bytes"
	"encoding/json"
	"strings"
)

// The ocsf format: one OCSF event (Open Cybersecurity Schema Framework,
// version OCSFVersion) per Trail event, as a JSON object. Each event type
// maps to a class and an activity (ocsfClassify; docs/streaming-formats.md
// has the table); every event carries metadata, actor, time, severity,
// message, status, src_endpoint and http_request when the event has a
// client, and in "unmapped" the Trail fields OCSF has no place for (seq,
// category, targets, metadata, recorded_by).

// OCSFVersion is the OCSF schema version the ocsf format follows and
// names in metadata.version: the snapshot its tests check against.
const OCSFVersion = "1.9.0-dev"

// ocsfClass is an OCSF event class.
type ocsfClass struct {
	UID, Category      int
	Name, CategoryName string
}

// The classes Trail's events map to.
var (
	ocsfAuthentication   = ocsfClass{3002, 3, "Authentication", "Identity & Access Management"}
	ocsfEntityManagement = ocsfClass{3004, 3, "Entity Management", "Identity & Access Management"}
	ocsfGroupManagement  = ocsfClass{3006, 3, "Group Management", "Identity & Access Management"}
	ocsfUserManagement   = ocsfClass{3007, 3, "User Management", "Identity & Access Management"}
	ocsfAPIActivity      = ocsfClass{6003, 6, "API Activity", "Application Activity"}
)

// ocsfActivity is an activity of a class: its activity_id and caption.
type ocsfActivity struct {
	ID   int
	Name string
}

var (
	actLogon       = ocsfActivity{1, "Logon"}
	actCreate      = ocsfActivity{1, "Create"}
	actRead        = ocsfActivity{2, "Read"}
	actUpdate      = ocsfActivity{3, "Update"}
	actDelete      = ocsfActivity{4, "Delete"}
	actMove        = ocsfActivity{5, "Move"}
	actEnable      = ocsfActivity{8, "Enable"}
	actDisable     = ocsfActivity{9, "Disable"}
	actActivate    = ocsfActivity{10, "Activate"}
	actDeactivate  = ocsfActivity{11, "Deactivate"}
	actSuspend     = ocsfActivity{12, "Suspend"}
	actResume      = ocsfActivity{13, "Resume"}
	actAddUser     = ocsfActivity{3, "Add User"}
	actRemoveUser  = ocsfActivity{4, "Remove User"}
	actGroupDelete = ocsfActivity{5, "Delete"}
	actGroupCreate = ocsfActivity{6, "Create"}
	actGroupUpdate = ocsfActivity{9, "Update"}
	actAssignRoles = ocsfActivity{16, "Assign Roles"}
)

// ocsfSeverity maps a severity to OCSF's severity_id and its caption.
var ocsfSeverity = [...]ocsfActivity{sevInfo: {1, "Informational"}, sevLow: {2, "Low"}, sevMedium: {3, "Medium"}}

func init() { RegisterFormat("ocsf", formatOCSF) }

func formatOCSF(dst []byte, ev Event) ([]byte, error) {
	r, err := decodeRecord(ev)
	if err != nil {
		return dst, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ocsfEvent(r)); err != nil {
		return dst, err
	}
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...), nil
}

// ocsfClassify returns the class and activity of an event type:
//   - org.sso_login: Authentication, Logon;
//   - org.sso_join and the membership category: Group Management (the org
//     is the group), Add User, Remove User, or Other for invitations;
//   - *.change_role: User Management, Assign Roles;
//   - resource_groups: Group Management (the resource group);
//   - audit_log: API Activity (Read for view and export);
//   - everything else (organization, content, billing, jobs, a platform's
//     own categories): Entity Management, the activity from the type's
//     last word (ocsfEntityActivity).
func ocsfClassify(r *storedRecord) (ocsfClass, ocsfActivity) {
	verb := r.verb()
	switch {
	case r.Type == "org.sso_login":
		return ocsfAuthentication, actLogon
	case strings.HasSuffix(r.Type, "change_role"):
		return ocsfUserManagement, actAssignRoles
	case r.Type == "org.sso_join" || r.Category == "membership":
		switch verb {
		case "remove_user", "leave":
			return ocsfGroupManagement, actRemoveUser
		case "invite_user", "email":
			return ocsfGroupManagement, ocsfActivity{99, "Invite"}
		}
		return ocsfGroupManagement, actAddUser
	case r.Category == "resource_groups":
		switch verb {
		case "create":
			return ocsfGroupManagement, actGroupCreate
		case "delete":
			return ocsfGroupManagement, actGroupDelete
		case "add_users":
			return ocsfGroupManagement, actAddUser
		case "remove_users":
			return ocsfGroupManagement, actRemoveUser
		}
		return ocsfGroupManagement, actGroupUpdate
	case r.Category == "audit_log":
		switch a := ocsfEntityActivity(verb); {
		case verb == "view" || verb == "export":
			return ocsfAPIActivity, actRead
		case a == actCreate || a == actDelete:
			return ocsfAPIActivity, a
		}
		return ocsfAPIActivity, actUpdate
	}
	return ocsfEntityManagement, ocsfEntityActivity(verb)
}

// ocsfEntityActivity maps the last word of a type to an Entity Management
// activity, by its first and last underscore-separated words: create, add
// (and duplication, authorization_request) → Create; delete, remove,
// revoked → Delete; move → Move; enable(d), removeDisable → Enable;
// disable(d) → Disable; run → Activate; cancel → Deactivate; suspend →
// Suspend; resume, restore, un_cancel… → Resume; anything else → Update.
func ocsfEntityActivity(verb string) ocsfActivity {
	switch verb {
	case "removeDisable":
		return actEnable
	case "duplication", "authorization_request":
		return actCreate
	case "revoked":
		return actDelete
	}
	words := strings.Split(verb, "_")
	first, last := words[0], words[len(words)-1]
	has := func(ws ...string) bool {
		for _, w := range ws {
			if first == w || last == w {
				return true
			}
		}
		return false
	}
	switch {
	case first == "un":
		return actResume
	case has("create", "add"):
		return actCreate
	case has("delete", "remove"):
		return actDelete
	case has("move"):
		return actMove
	case has("enable", "enabled"):
		return actEnable
	case has("disable", "disabled"):
		return actDisable
	case has("run"):
		return actActivate
	case has("cancel"):
		return actDeactivate
	case has("suspend"):
		return actSuspend
	case has("resume", "restore"):
		return actResume
	}
	return actUpdate
}

// ocsfEvent builds the OCSF object of r.
func ocsfEvent(r *storedRecord) map[string]any {
	class, act := ocsfClassify(r)
	sev := ocsfSeverity[severityOf(r)]
	e := map[string]any{
		"class_uid": class.UID, "class_name": class.Name,
		"category_uid": class.Category, "category_name": class.CategoryName,
		"activity_id": act.ID, "activity_name": act.Name,
		"type_uid": class.UID*100 + act.ID, "type_name": class.Name + ": " + act.Name,
		"severity_id": sev.ID, "severity": sev.Name,
		"status_id": 1, "status": "Success",
		"time":    r.occurred.UnixMilli(),
		"message": r.Description,
		"metadata": map[string]any{
			"version":            OCSFVersion,
			"product":            map[string]any{"name": "Trail", "vendor_name": "Trail", "version": ProductVersion},
			"uid":                r.ID,
			"original_event_uid": r.ID,
			"event_code":         r.Type,
			"original_time":      r.OccurredAt,
			"logged_time":        r.received.UnixMilli(),
			"tenant_uid":         r.Org,
			"log_name":           "audit",
		},
		"actor": map[string]any{"user": ocsfUser(r.Actor)},
		"unmapped": map[string]any{
			"seq": r.Seq, "category": r.Category, "targets": r.Targets,
			"metadata": r.Metadata,
		},
	}
	if r.RecordedBy != "" {
		e["unmapped"].(map[string]any)["recorded_by"] = r.RecordedBy
	}
	if src := ocsfSrcEndpoint(r); src != nil {
		e["src_endpoint"] = src
	}
	if r.Client != nil && r.Client.UserAgent != "" {
		e["http_request"] = map[string]any{"user_agent": r.Client.UserAgent}
	}
	ocsfClassFields(e, class, r)
	return e
}

// ocsfClassFields adds what the class requires: user, group, entity, api.
func ocsfClassFields(e map[string]any, class ocsfClass, r *storedRecord) {
	switch class {
	case ocsfAuthentication:
		e["user"] = ocsfUser(r.Actor)
		o := r.orgRef() // the user signed in to the org
		e["service"] = map[string]any{"uid": o.ID, "name": o.Name}
	case ocsfUserManagement:
		u, ok := r.firstTarget("user")
		if !ok {
			u = r.Actor
		}
		e["user"] = ocsfUser(u)
	case ocsfGroupManagement:
		g, ok := r.firstTarget("resource_group")
		if !ok || r.Category != "resource_groups" {
			g = r.orgRef()
		}
		e["group"] = map[string]any{"uid": g.ID, "name": g.Name, "type": g.Type}
		var users []map[string]any
		for _, t := range r.Targets {
			if t.Type == "user" {
				users = append(users, ocsfUser(t))
			}
		}
		if users == nil && (r.Category == "membership" || r.Type == "org.sso_join") {
			users = append(users, ocsfUser(r.Actor)) // joined or left by themselves
		}
		if users != nil {
			e["users"] = users
		}
	case ocsfAPIActivity:
		e["api"] = map[string]any{"operation": r.Type, "service": map[string]any{"name": "Trail audit log"}}
		if _, ok := e["src_endpoint"]; !ok {
			e["src_endpoint"] = map[string]any{"name": "trail"} // recorded by Trail itself
		}
	default:
		t, ok := r.firstTarget()
		if !ok {
			t = r.orgRef()
		}
		e["entity"] = ocsfEntity(t)
	}
}

// orgRef is the org as a target, from the event's org target or its org id.
func (r *storedRecord) orgRef() recordRef {
	if t, ok := r.firstTarget("org"); ok {
		return t
	}
	return recordRef{Type: "org", ID: r.Org, Name: r.Org}
}

// ocsfEntity is a target as a managed_entity; org, user and group targets
// also fill the matching object and type_id.
func ocsfEntity(t recordRef) map[string]any {
	e := map[string]any{"uid": t.ID, "type": t.Type}
	if t.Name != "" {
		e["name"] = t.Name
	}
	obj := map[string]any{"uid": t.ID, "name": t.Name}
	switch t.Type {
	case "user":
		e["type_id"], e["user"] = 2, ocsfUser(t)
	case "resource_group":
		e["type_id"], e["group"] = 3, obj
	case "org":
		e["type_id"], e["org"] = 4, obj
	}
	return e
}

// ocsfUser is an actor or a user target as an OCSF user; type_id is User
// for users, Service for tokens, System for system actors, else Other.
func ocsfUser(a recordRef) map[string]any {
	u := map[string]any{"uid": a.ID, "type": a.Type}
	if a.Name != "" {
		u["name"] = a.Name
	}
	switch a.Type {
	case "user":
		u["type_id"] = 1
	case "token":
		u["type_id"] = 4
	case "system":
		u["type_id"] = 3
	default:
		u["type_id"] = 99
	}
	return u
}

// ocsfSrcEndpoint is the client's anonymized IP and its location, or nil.
func ocsfSrcEndpoint(r *storedRecord) map[string]any {
	if r.Client == nil || r.Client.IP == "" {
		return nil
	}
	src := map[string]any{"ip": r.Client.IP}
	if l := r.Location; l != nil {
		loc := map[string]any{}
		for k, v := range map[string]string{"country": l.CountryCode, "region": l.Region, "city": l.City} {
			if v != "" {
				loc[k] = v
			}
		}
		if len(loc) > 0 {
			src["location"] = loc
		}
	}
	return src
}
