//! The Node Factory registry server: a REST API over the SQLite registry for many benches,
//! operator tokens with roles, and OTA downloads for nodes.
//!
//! [`serve`] runs the server from synchronous code; [`app`] builds the router for tests and
//! embedding. The `operators_*` functions manage operators directly on the database file.

mod auth;
pub mod cli;
mod config;
mod connections;
mod context;
mod error;
mod extract;
mod firmware;
mod handlers;
mod openapi;
mod operators;
mod ota;
mod routes;
mod server;
mod state;

pub use auth::{FailureLimiter, Permission, Role};
pub use config::{ServeConfig, ServerOptions};
pub use error::ApiError;
pub use openapi::document as openapi_document;
pub use operators::{
    FIRST_ADMIN_NAME, OperatorError, OperatorInfo, operators_add, operators_list, operators_revoke,
};
pub use routes::{Access, RouteMethod, RouteSpec, app, routes};
pub use server::{BoundServer, serve, serve_async};
pub use state::{AppState, Settings};
