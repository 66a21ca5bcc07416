//! `/api/v1/namespaces`: namespaces as Kestra OSS knows them, derived from the flows (each
//! namespace of a flow and its parents, plus the system flows' namespace).

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::get;
use peregrine_ports::repository::FlowQuery;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::params::{Params, page_of};
use crate::routes::{Endpoint, QueryParam, Reply, Route};
use crate::state::AppState;

const TAG: &str = "Namespaces";
/// Kestra's default `kestra.system-flows.namespace`, always listed.
const SYSTEM_NAMESPACE: &str = "system";

const SEARCH_QUERY: &[QueryParam] = &[
    QueryParam::new("q", "string", "Text the namespace contains (case ignored)"),
    QueryParam::new("page", "integer", "The page, from 1 (default 1)"),
    QueryParam::new("size", "integer", "The page size (default 10)"),
    QueryParam::new("sort", "string", "id:asc or id:desc (default ascending)"),
];

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route {
            endpoint: Endpoint {
                method: Method::GET,
                path: "/api/v1/namespaces/search",
                operation_id: "searchNamespaces",
                tag: TAG,
                summary: "Search the namespaces of the flows and their parents, sorted by id",
                query: SEARCH_QUERY,
                body: None,
                reply: Reply::json("PagedNamespaces"),
                errors: &[422],
            },
            handler: get(search),
        },
        Route {
            endpoint: Endpoint {
                method: Method::GET,
                path: "/api/v1/namespaces/{namespace}",
                operation_id: "getNamespace",
                tag: TAG,
                summary: "Get a namespace",
                query: &[],
                body: None,
                reply: Reply::json("Namespace"),
                errors: &[422],
            },
            handler: get(get_namespace),
        },
    ]
}

/// Kestra answers any well-formed id: a namespace exists once something names it.
async fn get_namespace(Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    check_id(&id)?;
    Ok(Json(json!({ "id": id, "deleted": false })))
}

async fn search(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    let (page, size) = params.paging()?;
    let descending = match params.get("sort") {
        None => false,
        Some(sort) if sort.ends_with(":desc") => true,
        Some(sort) if sort.ends_with(":asc") || !sort.contains(':') => false,
        Some(sort) => {
            return Err(ApiError::invalid(format!(
                "query parameter 'sort' must be id:asc or id:desc, found '{sort}'"
            )));
        }
    };
    let flows = state.options.flows.list(&FlowQuery::default()).await?;
    let mut namespaces = with_parents(flows.iter().map(|flow| flow.namespace.as_str()));
    namespaces.insert(SYSTEM_NAMESPACE.to_string());
    let text = params.get("q").map(str::to_lowercase);
    let mut found: Vec<String> = namespaces
        .into_iter()
        .filter(|namespace| {
            text.as_deref()
                .is_none_or(|text| namespace.to_lowercase().contains(text))
        })
        .collect();
    if descending {
        found.reverse();
    }
    let total = found.len();
    let results: Vec<Value> = page_of(found, page, size)
        .into_iter()
        .map(|id| json!({ "id": id, "deleted": false, "disabled": true }))
        .collect();
    Ok(Json(json!({ "results": results, "total": total })))
}

/// Every namespace and each of its parents (`a.b.c` gives `a`, `a.b`, `a.b.c`), sorted.
fn with_parents<'a>(namespaces: impl Iterator<Item = &'a str>) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for namespace in namespaces {
        let mut end = 0;
        for part in namespace.split('.') {
            end += part.len();
            all.insert(namespace[..end].to_string());
            end += 1;
        }
    }
    all
}

/// Kestra's namespace pattern `[a-z0-9][a-z0-9._-]*`.
fn check_id(id: &str) -> Result<(), ApiError> {
    let mut characters = id.chars();
    let valid = characters
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && characters.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c));
    if valid {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "namespace id '{id}' must match [a-z0-9][a-z0-9._-]*"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parents_once() {
        let all = with_parents(["company.team", "company.team.data", "other"].into_iter());
        assert_eq!(
            all.into_iter().collect::<Vec<_>>(),
            ["company", "company.team", "company.team.data", "other"]
        );
    }

    #[test]
    fn checks_ids() {
        assert!(check_id("company.team-1_x").is_ok());
        assert!(check_id("Company").is_err());
        assert!(check_id(".a").is_err());
    }
}
