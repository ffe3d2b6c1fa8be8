//! The single-table store on DynamoDB: [`DynamoStore`] implements the
//! `Store` port with the same semantics as the embedded store (conditions,
//! counters, sparse indexes, exact pages, transactions, TTL), and
//! [`create_table`] creates a table laid out as the schema says.

mod batch;
mod convert;
mod cursor;
mod errors;
mod expr;
mod query;
mod store;
mod table;
mod transact;
mod update;
mod validate;

pub use store::DynamoStore;
pub use table::create_table;
