//! `dscsa-exchange verify`: a verification client (the requestor side of GS1 LMS), on the
//! requestor client the server forwards with (`verification::requestor`).

use crate::gs1::pct_encode;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::CliError;
use crate::verification::requestor;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Responder base URL, e.g. https://localhost:8443/verify
    #[arg(long)]
    url: String,
    /// Our client certificate (PEM).
    #[arg(long)]
    cert: PathBuf,
    /// Its private key (PEM).
    #[arg(long)]
    key: PathBuf,
    /// CA bundle for the responder's certificate (default: the system's).
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Requestor GLN (reqGLN).
    #[arg(long)]
    req_gln: Option<String>,
    #[arg(long, default_value = "dscsaSaleableReturn")]
    context: String,
    gtin: String,
    serial: String,
    lot: String,
    /// YYMMDD as printed on the pack.
    expiry: String,
}

pub fn run(args: VerifyArgs) -> Result<(), CliError> {
    let read = |p: &PathBuf| {
        std::fs::read(p).map_err(|e| CliError::failure(format!("cannot read {}: {e}", p.display())))
    };
    let identity = reqwest::Identity::from_pkcs8_pem(&read(&args.cert)?, &read(&args.key)?)
        .map_err(|e| CliError::failure(format!("client certificate/key: {e}")))?;
    let ca = match &args.ca {
        Some(ca) => Some(
            reqwest::Certificate::from_pem_bundle(&read(ca)?)
                .map_err(|e| CliError::failure(format!("{}: {e}", ca.display())))?,
        ),
        None => None,
    };
    let client = requestor::client(requestor::ClientOptions {
        identity: Some(identity),
        ca,
        timeout: Duration::from_secs(30),
        connect_timeout: None,
        follow_redirects: true,
    })
    .map_err(CliError::failure)?;
    let mut url = format!(
        "{}/gtin/{}/lot/{}/ser/{}?exp={}&linkType=verificationService&context={}&corrUUID={}",
        args.url.trim_end_matches('/'),
        pct_encode(&args.gtin),
        pct_encode(&args.lot),
        pct_encode(&args.serial),
        pct_encode(&args.expiry),
        pct_encode(&args.context),
        uuid::Uuid::new_v4()
    );
    if let Some(g) = &args.req_gln {
        url.push_str(&format!("&reqGLN={}", pct_encode(g)));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::failure)?;
    let (status, body) = runtime.block_on(async {
        let res = client
            .get(&url)
            .send()
            .await
            .map_err(|e| CliError::failure(format!("request to {} failed: {e}", args.url)))?;
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        Ok::<_, CliError>((status, body))
    })?;
    println!("{body}");
    if status.is_success() {
        let verified = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["data"]["verified"].as_bool())
            .unwrap_or(false);
        if verified {
            Ok(())
        } else {
            Err(CliError::failure("not verified"))
        }
    } else {
        Err(CliError::failure(format!("responder answered {status}")))
    }
}
