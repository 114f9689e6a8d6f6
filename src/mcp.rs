//! `ctxlens mcp`: an MCP server over stdio (the official Rust SDK, rmcp) that gives agents the
//! originals behind markers and ctxlens's compression. `headroom_retrieve` has Headroom's input
//! shape (`hash`, optional `query`), so an agent configured for Headroom works unchanged;
//! `ctxlens_retrieve` is the same tool under ctxlens's name; `compress` compresses a text and keeps
//! what it drops in the store, so every key in its markers can be retrieved.

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{ServerHandler, ServiceExt, schemars, tool, tool_handler, tool_router};

use crate::config::Config;
use crate::engine::Context;
use crate::ledger::Key;
use crate::pipeline::EngineChoice;
use crate::store::headroom::{HeadroomStore, Lookup};
use crate::store::{Location, Store};

/// What a retrieve call asks for (Headroom's `headroom_retrieve` shape).
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct RetrieveArgs {
    /// The key from the compression marker: `key=…` in a ctxlens marker (16 hex), or `hash=…` /
    /// `<<ccr:…>>` in a Headroom one.
    pub hash: String,
    /// Return only the lines of the original that contain this text (case-insensitive).
    #[serde(default)]
    pub query: Option<String>,
}

/// What a compress call asks for.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct CompressArgs {
    /// The text to compress (a tool output: JSON, logs, search results, a diff, code, prose).
    pub content: String,
    /// The user's question, for relevance (rows, matches and hunks that match it are kept).
    #[serde(default)]
    pub query: Option<String>,
}

/// The server: where the stores are, and the knobs `compress` uses.
#[derive(Clone)]
pub struct Server {
    store: Location,
    headroom: Option<Arc<HeadroomStore>>,
    config: Arc<Config>,
    tool_router: ToolRouter<Self>,
}

fn text_result(text: String) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(text)])
}

fn error_result(why: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(why)])
}

/// The lines of `text` holding `query` (all of it without one).
fn matching(text: &str, query: Option<&str>) -> Result<String, String> {
    match query {
        None => Ok(text.to_string()),
        Some(q) => {
            let held = crate::store::lines_holding(text, q);
            if held.is_empty() { Err(crate::store::no_line_holds(text, q)) } else { Ok(held) }
        }
    }
}

#[tool_router]
impl Server {
    pub fn new(store: Location, headroom: Option<HeadroomStore>, config: Config) -> Server {
        Server { store, headroom: headroom.map(Arc::new), config: Arc::new(config), tool_router: Self::tool_router() }
    }

    /// The original behind a key or hash, or why there is none.
    pub fn retrieve_text(&self, args: &RetrieveArgs) -> Result<String, String> {
        let hash = args.hash.trim().trim_start_matches("hash=").trim_start_matches("key=");
        if let Some(key) = Key::parse_given(&args.hash) {
            let bytes = Store::open_existing(&self.store).and_then(|s| s.retrieve(&key)).map_err(|e| e.to_string())?;
            return matching(&String::from_utf8_lossy(&bytes), args.query.as_deref());
        }
        let Some(h) = &self.headroom else {
            return Err(format!(
                "`{hash}` is not a ctxlens key (16 hex digits), and no Headroom workspace was given (--headroom-dir)"
            ));
        };
        match h.lookup(hash, crate::store::headroom::now()).map_err(|e| e.to_string())? {
            Lookup::Present(e) => matching(&e.original, args.query.as_deref()),
            Lookup::Expired(_) => Err(format!("hash {hash} has expired in Headroom's store")),
            Lookup::Missing => Err(format!("hash {hash} is not in Headroom's store")),
        }
    }

    #[tool(description = "Retrieve original uncompressed content that was compressed to save tokens. Give the \
                          key from the compression marker (key=… or hash=…); optionally a query to get only the \
                          lines that contain it.")]
    fn headroom_retrieve(&self, Parameters(args): Parameters<RetrieveArgs>) -> CallToolResult {
        self.retrieve_text(&args).map_or_else(error_result, text_result)
    }

    #[tool(description = "The same as headroom_retrieve: the original content behind a ctxlens marker's key=…")]
    fn ctxlens_retrieve(&self, Parameters(args): Parameters<RetrieveArgs>) -> CallToolResult {
        self.retrieve_text(&args).map_or_else(error_result, text_result)
    }

    #[tool(description = "Compress a tool output (JSON, logs, search results, a diff, code, prose) and return the \
                          compressed text; every dropped span is kept in the store and its marker's key=… \
                          retrieves it.")]
    fn compress(&self, Parameters(args): Parameters<CompressArgs>) -> CallToolResult {
        let ctx = Context { query: args.query.clone(), ..Context::default() };
        let o = crate::pipeline::compress(&args.content, EngineChoice::Auto, &self.config, &ctx);
        let mut content = vec![ContentBlock::text(o.output.clone())];
        if !o.ledger.drops.is_empty() {
            let failed = match Store::open(&self.store, self.config.store.policy()) {
                Ok(s) => s.put_outcome(&o).failed.len(),
                Err(_) => o.ledger.drops.len() + o.ledger.markers.len(),
            };
            if failed > 0 {
                content.push(ContentBlock::text(format!(
                    "note: {failed} dropped spans could not be stored in {}; their keys will not retrieve",
                    self.store
                )));
            }
        }
        CallToolResult::success(content)
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("ctxlens", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "ctxlens: headroom_retrieve (or ctxlens_retrieve) returns the original behind a compression marker's \
             key; compress compresses a tool output and keeps what it drops retrievable.",
            )
    }
}

/// Serves MCP on stdin/stdout until the client goes away.
pub fn serve(server: Server) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        let running = server.serve(rmcp::transport::stdio()).await?;
        running.waiting().await?;
        Ok(())
    })
}
