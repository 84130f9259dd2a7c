//! One error chain from an HTTP failure to the top, each level the `source()` of the one above.

use std::error::Error;

use super::ExportError;
use crate::error::chain;
use crate::reference::Reference;
use crate::registry::{Client, ClientOptions, RegistryError};

#[test]
fn an_http_failure_chains_up_to_the_export_error() {
    // A port nothing listens on: the connection is refused, over https and then plain http.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let image = format!("127.0.0.1:{port}/team/app:v1");
    let client = Client::new(ClientOptions {
        retries: 0,
        ..ClientOptions::default()
    })
    .unwrap();
    let failed = client.get_manifest(&Reference::parse(&image).unwrap());
    let top = ExportError::registry(&image, failed.unwrap_err());

    // The top names the image, and only the image: its cause is its source.
    assert!(matches!(&top, ExportError::Registry { image: i, .. } if *i == image));
    assert_eq!(top.to_string(), image);
    let registry = top.source().expect("the registry error");
    let registry = registry
        .downcast_ref::<RegistryError>()
        .expect("a RegistryError");
    let RegistryError::Unreachable { host, url, .. } = registry else {
        panic!("not Unreachable: {registry:?}");
    };
    assert_eq!(host, &format!("127.0.0.1:{port}"));
    assert_eq!(
        url,
        &format!("http://127.0.0.1:{port}/v2/team/app/manifests/v1")
    );
    assert_eq!(
        registry.to_string(),
        format!("cannot reach registry 127.0.0.1:{port} ({url})")
    );
    let http = registry.source().expect("the HTTP client's error");
    let http = http.downcast_ref::<ureq::Error>().expect("a ureq::Error");
    let ureq::Error::Io(io) = http else {
        panic!("not an I/O error: {http:?}");
    };
    assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
    // ureq's error is the end of the chain: it says what the socket said.
    assert!(http.source().is_none());

    // Rendered once, as main prints it.
    let text = chain(&top);
    assert_eq!(text, format!("{image}: {registry}: {http}"));
    assert_eq!(text, format!("{:#}", anyhow::Error::new(top)));
}
