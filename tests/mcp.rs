//! `ctxlens mcp` answers a real MCP client (the official Rust SDK's, over stdio, the binary run as
//! a child process): initialize, tools/list, then tools/call of compress and of both retrieve tools
//! on the keys compress's markers carry, and Headroom's hashes from its CCR store.

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;

const BIN: &str = env!("CARGO_BIN_EXE_ctxlens");

fn args(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    v.as_object().unwrap().clone()
}

fn text(r: &rmcp::model::CallToolResult) -> String {
    r.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.as_str()).collect::<Vec<_>>().join("\n")
}

#[test]
fn a_real_client_compresses_and_retrieves_through_ctxlens_mcp() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.db");
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/headroom-proxy");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.arg("mcp").arg("--store").arg(&store).arg("--headroom-dir").arg(&workspace);
        let client = ().serve(TokioChildProcess::new(cmd).unwrap()).await.expect("initialize");
        let info = client.peer_info().expect("server info");
        assert_eq!(info.server_info.as_ref().map(|s| s.name.as_str()), Some("ctxlens"));

        let tools = client.list_all_tools().await.unwrap();
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        for want in ["headroom_retrieve", "ctxlens_retrieve", "compress"] {
            assert!(names.contains(&want), "{names:?}");
        }
        // Headroom's input shape: `hash` required, `query` optional
        let hr = tools.iter().find(|t| t.name == "headroom_retrieve").unwrap();
        assert_eq!(hr.input_schema.get("required").unwrap(), &serde_json::json!(["hash"]));

        let log = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/log/pytest-failures.log"),
        )
        .unwrap();
        let call = |name: &'static str, a: serde_json::Value| CallToolRequestParams::new(name).with_arguments(args(a));
        let r = client.call_tool(call("compress", serde_json::json!({ "content": log }))).await.unwrap();
        let out = text(&r);
        assert!(out.len() < log.len() && r.is_error != Some(true), "{out}");
        let key = ctxlens::ledger::MARKER_RE.captures(&out).expect("a marker")[2].to_string();

        // the key comes back exactly, through both names, whole or by query
        let o = ctxlens::compress(&log, ctxlens::EngineChoice::Auto, &ctxlens::Config::default(), &Default::default());
        let want = o.ledger.retrieve(&o.original, &ctxlens::ledger::Key::parse(&key).unwrap()).unwrap();
        for tool in ["headroom_retrieve", "ctxlens_retrieve"] {
            let r = client.call_tool(call(tool, serde_json::json!({ "hash": key }))).await.unwrap();
            assert_eq!(text(&r), want, "{tool}");
        }
        let r = client
            .call_tool(call("headroom_retrieve", serde_json::json!({ "hash": key, "query": "zz-no-line" })))
            .await
            .unwrap();
        // a query no line holds says so, as an error, rather than answering nothing
        assert_eq!(r.is_error, Some(true));
        assert!(text(&r).contains("no line of the original") && text(&r).contains("zz-no-line"), "{}", text(&r));
        // a key copied with its marker's bracket still finds the original
        let r = client
            .call_tool(call("ctxlens_retrieve", serde_json::json!({ "hash": format!("key={key}]") })))
            .await
            .unwrap();
        assert_eq!(text(&r), want);
        // an unknown key is a tool error that says so
        let r = client
            .call_tool(call("headroom_retrieve", serde_json::json!({ "hash": "0000000000000000" })))
            .await
            .unwrap();
        assert_eq!(r.is_error, Some(true));
        assert!(text(&r).contains("not in"), "{}", text(&r));
        // a Headroom hash is looked up in its store (expired by now: it says so)
        let r = client
            .call_tool(call("headroom_retrieve", serde_json::json!({ "hash": "e373e5aa635d4fc16d6789e7" })))
            .await
            .unwrap();
        assert!(text(&r).contains("Compiling memchr") || text(&r).contains("expired"), "{}", text(&r));
        client.cancel().await.unwrap();
    });
}
