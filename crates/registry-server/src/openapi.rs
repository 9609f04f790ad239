//! The OpenAPI 3.1 document of the server, built from the route table so that it lists
//! exactly the routes the router serves.

use std::sync::OnceLock;

use axum::Json;
use serde_json::{Map, Value, json};

use crate::routes::{Access, RouteMethod, routes};

/// Serves the document, built once.
pub async fn serve() -> Json<Value> {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    Json(DOCUMENT.get_or_init(document).clone())
}

/// The methods documented for a route that accepts every method.
const ANY_METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

pub fn document() -> Value {
    let mut paths = Map::new();
    for spec in routes() {
        let operation = operation(&spec);
        let item = paths
            .entry(spec.path)
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("path items are objects");
        match &spec.method {
            RouteMethod::One(method) => {
                item.insert(method.as_str().to_ascii_lowercase(), operation);
            }
            RouteMethod::Any => {
                for method in ANY_METHODS {
                    let mut operation = operation.clone();
                    operation["operationId"] = json!(format!("{}_{method}", spec.operation_id));
                    item.insert(method.to_owned(), operation);
                }
            }
        }
    }

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Node Factory registry server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Mints and tracks node registrations for Node Factory benches, and serves OTA downloads to nodes. Every error has a JSON body {code, message}.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "operatorToken": { "type": "http", "scheme": "bearer", "description": "An operator API token (ulop_...)" },
                "otaToken": { "type": "http", "scheme": "bearer", "description": "The node's OTA token (ulota_...)" },
            },
            "schemas": schemas(),
        },
    })
}

fn operation(spec: &crate::routes::RouteSpec) -> Value {
    let mut parameters: Vec<Value> = path_parameters(spec.path)
        .into_iter()
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect();
    parameters.extend(spec.query.iter().map(|(name, kind, description)| {
        json!({ "name": name, "in": "query", "required": false, "description": description, "schema": { "type": kind } })
    }));
    if spec.operation_id == "mint_batch" {
        parameters.push(json!({
            "name": "Idempotency-Key", "in": "header", "required": false,
            "description": "A key that makes a retry return the first response's registrations (with fresh tokens) instead of minting again",
            "schema": { "type": "string", "maxLength": registry::wire::MAX_IDEMPOTENCY_KEY_LENGTH },
        }));
    }

    let (status, schema) = spec.response;
    let success_content = match schema {
        "FirmwareImage" => {
            json!({ "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } })
        }
        _ => json!({ "application/json": { "schema": schema_ref(schema) } }),
    };
    let mut responses = Map::new();
    responses.insert(status.to_string(), json!({ "description": spec.summary, "content": success_content }));
    let error = json!({ "application/json": { "schema": schema_ref("Error") } });

    let mut operation =
        json!({ "operationId": spec.operation_id, "summary": spec.summary, "parameters": parameters });
    match spec.access {
        Access::Operator(permission) => {
            let roles: Vec<&str> = permission.roles().into_iter().map(|role| role.as_str()).collect();
            operation["security"] = json!([{ "operatorToken": [] }]);
            operation["x-roles"] = json!(roles);
            operation["description"] = json!(format!("Roles: {}.", roles.join(", ")));
            for (code, description) in [
                ("400", "Malformed JSON"),
                ("401", "Missing, unknown or revoked operator token"),
                ("403", "The operator's role does not allow this"),
                ("404", "Not found"),
                ("409", "Conflict with the current state"),
                ("413", "Request body too large"),
                ("422", "Invalid input; `field` names it"),
                ("429", "Too many failed sign-ins from this address; see Retry-After"),
                ("500", "Server failure; the log has the detail"),
            ] {
                responses
                    .insert(code.to_owned(), json!({ "description": description, "content": error.clone() }));
            }
        }
        Access::OtaToken => {
            operation["security"] = json!([{ "otaToken": [] }]);
            responses.insert(
                "404".to_owned(),
                json!({ "description": "Unknown download ID, missing or wrong token, or no firmware published", "content": error }),
            );
        }
        Access::Public => {
            operation["security"] = json!([]);
        }
    }
    if let Some(body) = spec.request_body {
        operation["requestBody"] =
            json!({ "required": true, "content": { "application/json": { "schema": schema_ref(body) } } });
    }
    operation["responses"] = Value::Object(responses);
    operation
}

/// Returns the `{name}` segments of a path.
pub fn path_parameters(path: &str) -> Vec<&str> {
    path.split('/').filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}')).collect()
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn nullable(kind: &str) -> Value {
    json!({ "type": [kind, "null"] })
}

fn schemas() -> Value {
    let chip = json!({ "type": "string", "enum": ["esp32", "esp32c3", "esp32s3"] });
    let time = json!({ "type": "string", "format": "date-time" });
    json!({
        "Error": { "type": "object", "required": ["code", "message"], "properties": {
            "code": { "type": "string" }, "message": { "type": "string" },
            "field": { "type": "string" }, "reason": { "type": "string" } } },
        "HardwareMetadata": { "type": "object", "description": "Free-form JSON object; `target`, `strips` and `sdkconfig` are checked", "additionalProperties": true },
        "Assignment": { "type": "object", "properties": {
            "house_slug": { "type": "string" }, "room_id": { "type": "integer" },
            "assigned_house_id": { "type": "integer" }, "assigned_user_id": { "type": "integer" } } },
        "Registration": { "type": "object", "required": ["node_id", "download_id", "token_hash", "created_at", "has_legacy_token"], "properties": {
            "node_id": { "type": "string", "pattern": "^[a-z0-9]{16}$" },
            "download_id": { "type": "string", "pattern": "^[0-9a-f]{32}$" },
            "token_hash": { "type": "string", "description": "SHA-256 of the OTA token, hex" },
            "hardware_metadata": { "oneOf": [schema_ref("HardwareMetadata"), { "type": "null" }] },
            "target_chip": { "oneOf": [chip, { "type": "null" }] },
            "created_at": time, "provisioned_at": nullable("string"),
            "assignment": { "oneOf": [schema_ref("Assignment"), { "type": "null" }] },
            "has_legacy_token": { "type": "boolean" } } },
        "MintRequest": { "type": "object", "required": ["count"], "properties": {
            "count": { "type": "integer", "minimum": 1 },
            "target_chip": { "oneOf": [chip, { "type": "null" }] },
            "metadata": { "description": "\"none\", {\"same\": object} or {\"per_node\": [object, ...]}" },
            "idempotency_key": nullable("string") } },
        "MintedRegistration": { "type": "object", "properties": {
            "registration": schema_ref("Registration"), "ota_token": { "type": "string", "description": "Shown once" } } },
        "MintResponse": { "type": "object", "properties": { "registrations": { "type": "array", "items": schema_ref("MintedRegistration") } } },
        "RegistrationPage": { "type": "object", "properties": {
            "items": { "type": "array", "items": schema_ref("Registration") }, "total": { "type": "integer" } } },
        "StatusCounts": { "type": "object", "properties": {
            "total": { "type": "integer" }, "available": { "type": "integer" }, "assigned": { "type": "integer" },
            "provisioned": { "type": "integer" }, "available_by_chip": { "type": "object", "additionalProperties": { "type": "integer" } } } },
        "OtaTokenResponse": { "type": "object", "properties": { "ota_token": { "type": "string" } } },
        "LegacyTokenResponse": { "type": "object", "properties": { "ota_token": nullable("string") } },
        "DownloadIdResponse": { "type": "object", "properties": { "download_id": { "type": "string" } } },
        "MetadataRequest": { "type": "object", "required": ["metadata"], "properties": {
            "metadata": { "oneOf": [schema_ref("HardwareMetadata"), { "type": "null" }] } } },
        "ProvisionedRequest": { "type": "object", "properties": { "at": nullable("string") } },
        "RegionDigest": { "type": "object", "properties": {
            "offset": { "type": "integer" }, "size": { "type": "integer" }, "sha256": { "type": "string" } } },
        "NewFlashRecord": { "type": "object", "required": ["node_id", "attempted_at", "port", "bench_host", "regions", "outcome"], "properties": {
            "node_id": { "type": "string" }, "attempted_at": time, "port": { "type": "string" },
            "bench_host": { "type": "string" }, "chip": { "oneOf": [chip, { "type": "null" }] },
            "chip_revision": nullable("string"), "mac": nullable("string"), "flash_size": nullable("integer"),
            "regions": { "type": "array", "items": schema_ref("RegionDigest") },
            "outcome": { "type": "string", "enum": ["success", "failed"] },
            "error_code": nullable("string"), "error_message": nullable("string") } },
        "FlashRecord": { "allOf": [schema_ref("NewFlashRecord"), { "type": "object", "properties": { "id": { "type": "integer" } } }] },
        "FlashHistory": { "type": "object", "properties": { "records": { "type": "array", "items": schema_ref("FlashRecord") } } },
        "ReserveRequest": { "type": "object", "required": ["target_chip", "holder"], "properties": {
            "target_chip": chip, "holder": { "type": "string" }, "lease_seconds": nullable("integer") } },
        "Lease": { "type": "object", "properties": {
            "lease_id": { "type": "string" }, "holder": { "type": "string" }, "expires_at": time } },
        "Reservation": { "type": "object", "properties": { "registration": schema_ref("Registration"), "lease": schema_ref("Lease") } },
        "ReleaseRequest": { "type": "object", "required": ["lease_id"], "properties": { "lease_id": { "type": "string" } } },
        "Released": { "type": "object", "properties": { "released": { "type": "boolean" } } },
        "AuditEntry": { "type": "object", "properties": {
            "id": { "type": "integer" }, "at": time, "actor": { "type": "string" }, "action": { "type": "string" },
            "node_id": nullable("string"), "request_id": nullable("string"), "detail": {} } },
        "AuditPage": { "type": "object", "properties": { "entries": { "type": "array", "items": schema_ref("AuditEntry") } } },
        "Operator": { "type": "object", "properties": {
            "name": { "type": "string" }, "role": { "type": "string", "enum": ["admin", "technician", "support"] }, "created_at": time } },
        "OperatorList": { "type": "object", "properties": { "operators": { "type": "array", "items": schema_ref("Operator") } } },
        "NewOperator": { "type": "object", "required": ["name", "role"], "properties": {
            "name": { "type": "string" }, "role": { "type": "string", "enum": ["admin", "technician", "support"] } } },
        "NewOperatorResponse": { "type": "object", "properties": {
            "name": { "type": "string" }, "role": { "type": "string" }, "token": { "type": "string", "description": "Shown once" } } },
        "Revoked": { "type": "object", "properties": { "revoked": { "type": "boolean" } } },
        "ServerInfo": server_info_schema(),
        "Manifest": { "type": "object", "description": "The manifest.json file as published", "additionalProperties": true },
        "OpenApi": { "type": "object", "description": "This document" },
    })
}

fn server_info_schema() -> Value {
    json!({ "type": "object", "properties": {
        "version": { "type": "string" },
        "public_url": { "type": "string", "description": "The URL nodes download firmware from" },
        "operator": { "type": "string", "description": "The calling operator's name" },
        "role": { "type": "string", "enum": ["admin", "technician", "support"] },
        "max_batch": { "type": "integer" },
        "default_lease_seconds": { "type": "integer" },
        "body_limit_bytes": { "type": "integer" } } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters_are_found() {
        assert_eq!(path_parameters("/api/house/{house_id}/room/{room_id}/nodes"), ["house_id", "room_id"]);
        assert!(path_parameters("/api/v1/audit").is_empty());
    }

    #[test]
    fn every_schema_reference_resolves() {
        let document = document();
        let schemas = document["components"]["schemas"].as_object().unwrap();
        let text = document.to_string();
        for reference in text.split("#/components/schemas/").skip(1) {
            let name: String = reference.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
            assert!(schemas.contains_key(&name), "schema {name} is referenced but not defined");
        }
    }
}
