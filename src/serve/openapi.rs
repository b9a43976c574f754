//! The OpenAPI 3.1 document of the API, served at `/v1/openapi.json`. Written by hand (a dozen
//! operations), with the JSON report and check schemas of `schemas/` embedded as components so
//! a VM and a check answer are described once for the CLI and the API; the end-to-end tests
//! validate every response against it and `.ci/run` fuzzes the API from it.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::sync::OnceLock;

const REPORT_SCHEMA: &str = include_str!("../../schemas/report-v1.schema.json");
const CHECK_SCHEMA: &str = include_str!("../../schemas/check-v1.schema.json");

pub async fn serve() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document().to_string(),
    )
        .into_response()
}

/// A JSON Schema of `schemas/` as a component: its `$defs` references rewritten to point into
/// this document, its own `$id` dropped (it would change the base the references resolve from).
fn component(text: &str, name: &str) -> Value {
    let text = text.replace(
        "\"#/$defs/",
        &format!("\"#/components/schemas/{name}/$defs/"),
    );
    let mut schema: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut schema {
        map.remove("$id");
        map.remove("$schema");
    }
    schema
}

fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn json_response(description: &str, schema: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

/// The responses every protected operation can give besides its own.
fn guarded(mut responses: Value) -> Value {
    if let Value::Object(map) = &mut responses {
        map.insert("401".into(), json!({
            "description": "No valid token (`WWW-Authenticate` says why).",
            "headers": { "WWW-Authenticate": { "schema": { "type": "string" } } },
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
        }));
        map.insert("403".into(), error_response("The token lacks the role."));
    }
    responses
}

/// The whole document (built once).
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(build)
}

fn build() -> Value {
    let reader = json!([{ "entra": [] }]);
    let text = |_media: &str| json!({ "schema": { "type": "string" } });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "backup-doctor",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Azure VM backup diagnosis as a service: the scheduled scans' results, readiness checks read live, and scans on demand. GETs need the reader app role, POSTs the operator role (docs/serve.md)."
        },
        "servers": [{ "url": "/" }],
        "security": reader,
        "paths": {
            "/healthz": { "get": {
                "operationId": "healthz", "summary": "The process answers.",
                "responses": guarded(json!({ "200": json_response("Up.", "Health") }))
            }},
            "/readyz": { "get": {
                "operationId": "readyz", "summary": "The store answers and the last scheduled scan is not overdue.",
                "responses": guarded(json!({
                    "200": json_response("Ready.", "Ready"),
                    "503": json_response("Not ready, and why.", "Ready")
                }))
            }},
            "/metrics": { "get": {
                "operationId": "metrics", "summary": "Prometheus text exposition format 0.0.4.",
                "responses": guarded(json!({ "200": { "description": "The metrics.", "content": { "text/plain": { "schema": { "type": "string" } } } } }))
            }},
            "/v1/openapi.json": { "get": {
                "operationId": "openapi", "summary": "This document.", "security": [],
                "responses": { "200": { "description": "The OpenAPI document.", "content": { "application/json": { "schema": { "type": "object" } } } } }
            }},
            "/v1/vms": { "get": {
                "operationId": "listVms", "summary": "The VMs of a scan (the latest by default), filtered and paged.",
                "parameters": [
                    { "name": "verdict", "in": "query", "schema": { "type": "string", "enum": ["pass", "fail", "unknown"] } },
                    { "name": "root_cause", "in": "query", "schema": { "$ref": "#/components/schemas/Report/$defs/cause" } },
                    { "name": "subscription", "in": "query", "schema": { "type": "string" } },
                    { "name": "resource_group", "in": "query", "schema": { "type": "string" } },
                    { "name": "tag", "in": "query", "description": "KEY or KEY=VALUE", "schema": { "type": "string", "pattern": "^[^=]+(=.*)?$" } },
                    { "name": "offset", "in": "query", "schema": { "type": "integer", "minimum": 0, "maximum": 1000000, "default": 0 } },
                    { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 500, "default": 100 } },
                    { "name": "scan", "in": "query", "schema": { "type": "integer" } }
                ],
                "responses": guarded(json!({
                    "200": json_response("A page of VMs.", "VmPage"),
                    "400": error_response("A parameter is wrong."),
                    "404": error_response("No scan yet, or no such scan.")
                }))
            }},
            "/v1/vms/{id}": { "get": {
                "operationId": "getVm", "summary": "A VM's latest diagnosis (findings with fixes) and its verdict history.",
                "parameters": [{ "name": "id", "in": "path", "required": true, "description": "The VM's ARM id (its slashes may stay or be %2F-encoded).", "schema": { "type": "string" } }],
                "responses": guarded(json!({
                    "200": json_response("The VM.", "VmDetail"),
                    "404": error_response("No scan yet, or no such VM in it.")
                }))
            }},
            "/v1/scans": {
                "get": {
                    "operationId": "listScans", "summary": "The latest scans kept.",
                    "parameters": [{ "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 30 } }],
                    "responses": guarded(json!({
                        "200": json_response("The scans, oldest first.", "ScanList"),
                        "400": error_response("A parameter is wrong.")
                    }))
                },
                "post": {
                    "operationId": "startScan", "summary": "Start a scan now (operator role).",
                    "responses": guarded(json!({
                        "202": {
                            "description": "Started; poll the run at `Location`.",
                            "headers": { "Location": { "schema": { "type": "string" } } },
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Run" } } }
                        },
                        "400": error_response("The body is not empty."),
                        "409": error_response("A scan of the store is running.")
                    }))
                }
            },
            "/v1/scans/runs/{run}": { "get": {
                "operationId": "getRun", "summary": "How a scan started here went.",
                "parameters": [{ "name": "run", "in": "path", "required": true, "schema": { "type": "string" } }],
                "responses": guarded(json!({
                    "200": json_response("The run.", "Run"),
                    "404": error_response("No such run on this replica.")
                }))
            }},
            "/v1/scans/{id}": { "get": {
                "operationId": "getScan", "summary": "A stored scan's report in any format the CLI writes (`?format=` or `Accept`).",
                "parameters": [
                    { "name": "id", "in": "path", "required": true, "schema": { "type": "integer" } },
                    { "name": "format", "in": "query", "schema": { "type": "string", "enum": ["json", "html", "csv", "sarif", "junit", "markdown", "console"] } }
                ],
                "responses": guarded(json!({
                    "200": { "description": "The report.", "content": {
                        "application/json": { "schema": { "$ref": "#/components/schemas/Report" } },
                        "text/html": text("text/html"),
                        "text/csv": text("text/csv"),
                        "application/sarif+json": { "schema": { "type": "object" } },
                        "application/xml": text("application/xml"),
                        "text/markdown": text("text/markdown"),
                        "text/plain": text("text/plain")
                    }},
                    "400": error_response("Not a scan id or not a format."),
                    "404": error_response("No such scan."),
                    "406": error_response("No format matches `Accept`.")
                }))
            }},
            "/v1/check": { "post": {
                "operationId": "check", "summary": "Readiness check for VMs, read live for their subscriptions (operator role).",
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/CheckRequest" } } } },
                "responses": guarded(json!({
                    "200": {
                        "description": "The check, as `backup-doctor check --format json` writes it.",
                        "headers": { "x-arm-calls": { "description": "ARM calls this check made (0 when every subscription came from the cache).", "schema": { "type": "string" } } },
                        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/CheckReport" } } }
                    },
                    "400": error_response("The body is wrong, or a VM is not in the data read."),
                    "413": { "description": "The body is larger than `max_body_bytes`." },
                    "502": error_response("Azure could not be read.")
                }))
            }}
        },
        "components": {
            "securitySchemes": {
                "entra": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "A Microsoft Entra ID access token for the API's audience, with the reader or operator app role." }
            },
            "schemas": {
                "Error": {
                    "type": "object", "required": ["error"], "additionalProperties": false,
                    "properties": { "error": {
                        "type": "object", "required": ["code", "message", "fix"], "additionalProperties": false,
                        "properties": { "code": { "type": "string" }, "message": { "type": "string" }, "fix": { "type": "string" } }
                    }}
                },
                "Health": { "type": "object", "required": ["status"], "properties": { "status": { "const": "ok" } } },
                "Ready": {
                    "type": "object", "required": ["status"],
                    "properties": { "status": { "enum": ["ready", "not_ready"] }, "problems": { "type": "array", "items": { "type": "string" } } }
                },
                "ScanRef": {
                    "type": "object", "required": ["id", "time"],
                    "properties": { "id": { "type": "integer" }, "time": { "type": "string" } }
                },
                "ScanRow": {
                    "type": "object",
                    "required": ["id", "time", "recorded_at", "source", "complete", "vms", "pass", "fail", "unknown", "by_root_cause"],
                    "properties": {
                        "id": { "type": "integer" }, "time": { "type": "string" }, "recorded_at": { "type": "string" },
                        "source": { "type": "string" }, "complete": { "type": "boolean" },
                        "vms": { "type": "integer" }, "pass": { "type": "integer" }, "fail": { "type": "integer" }, "unknown": { "type": "integer" },
                        "failed_jobs": { "type": "integer" }, "failed_jobs_explained": { "type": "integer" },
                        "by_root_cause": { "type": "object", "additionalProperties": { "type": "integer" } }
                    }
                },
                "ScanList": {
                    "type": "object", "required": ["scans"],
                    "properties": { "scans": { "type": "array", "items": { "$ref": "#/components/schemas/ScanRow" } } }
                },
                "VmRow": {
                    "type": "object", "required": ["id", "name", "subscription", "resource_group", "verdict"],
                    "properties": {
                        "id": { "type": "string" }, "name": { "type": "string" },
                        "subscription": { "type": "string" }, "resource_group": { "type": "string" },
                        "verdict": { "enum": ["pass", "fail", "unknown"] },
                        "root_cause": { "type": ["string", "null"] },
                        "tags": { "type": "object", "additionalProperties": { "type": "string" } }
                    }
                },
                "VmPage": {
                    "type": "object", "required": ["scan", "total", "offset", "limit", "items"],
                    "properties": {
                        "scan": { "$ref": "#/components/schemas/ScanRef" },
                        "total": { "type": "integer", "minimum": 0 }, "offset": { "type": "integer", "minimum": 0 },
                        "limit": { "type": "integer", "minimum": 1 },
                        "items": { "type": "array", "items": { "$ref": "#/components/schemas/VmRow" } }
                    }
                },
                "VmVerdictAt": {
                    "type": "object", "required": ["scan_id", "time", "verdict"],
                    "properties": {
                        "scan_id": { "type": "integer" }, "time": { "type": "string" },
                        "verdict": { "enum": ["pass", "fail", "unknown"] }, "root_cause": { "type": ["string", "null"] }
                    }
                },
                "VmDetail": {
                    "type": "object", "required": ["scan", "vm", "history"],
                    "properties": {
                        "scan": { "$ref": "#/components/schemas/ScanRef" },
                        "vm": { "$ref": "#/components/schemas/Report/$defs/vm" },
                        "history": { "type": "array", "items": { "$ref": "#/components/schemas/VmVerdictAt" } }
                    }
                },
                "Run": {
                    "type": "object", "required": ["run", "state", "started"],
                    "properties": {
                        "run": { "type": "string" }, "state": { "enum": ["running", "complete", "failed", "abandoned"] },
                        "started": { "type": "string" }, "scan_id": { "type": "integer" }, "error": { "type": "string" }
                    }
                },
                "CheckRequest": {
                    "type": "object", "required": ["vms"], "additionalProperties": false,
                    "properties": {
                        "vms": { "type": "array", "minItems": 1, "items": { "type": "string" }, "description": "ARM ids of the VMs (at most check.max_vms)." },
                        "vault": { "type": "string", "description": "The Recovery Services vault (id or name); default: one in each VM's region and subscription." },
                        "policy": { "type": "string", "description": "standard, enhanced, or a policy of the vault." }
                    }
                },
                "Report": component(REPORT_SCHEMA, "Report"),
                "CheckReport": component(CHECK_SCHEMA, "CheckReport")
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_schemas_parse_and_point_into_the_document() {
        let document = document();
        for name in ["Report", "CheckReport"] {
            let schema = &document["components"]["schemas"][name];
            assert!(schema["$defs"].is_object(), "{name}");
            let text = schema.to_string();
            assert!(
                !text.contains("\"#/$defs/"),
                "{name} keeps a reference to its own root"
            );
        }
        assert_eq!(document["openapi"], "3.1.0");
    }
}
