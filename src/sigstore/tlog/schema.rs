//! The JSON of the log entry bodies ferry checks, the fields it compares: Rekor v1 types
//! (hashedrekord 0.0.1, intoto 0.0.2, dsse 0.0.1) and Rekor v2 ones (protobuf JSON of
//! `hashedRekordV002` and `dsseV002`). Unknown fields are ignored.

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Body {
    pub api_version: String,
    pub kind: String,
    pub spec: serde_json::Value,
}

// hashedrekord 0.0.1
#[derive(Deserialize)]
pub(crate) struct HashedRekordV1 {
    pub data: HrData,
    pub signature: HrSignature,
}
#[derive(Deserialize)]
pub(crate) struct HrData {
    pub hash: HexHash,
}
#[derive(Deserialize)]
pub(crate) struct HexHash {
    pub algorithm: String,
    pub value: String,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HrSignature {
    pub content: String,
    pub public_key: HrKey,
}
#[derive(Deserialize)]
pub(crate) struct HrKey {
    pub content: String,
}

// Rekor v2 (protobuf JSON)
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SpecV2 {
    pub hashed_rekord_v002: Option<HashedRekordV2>,
    pub dsse_v002: Option<DsseV2>,
}
#[derive(Deserialize)]
pub(crate) struct HashedRekordV2 {
    pub data: HashOutput,
    pub signature: SignatureV2,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DsseV2 {
    pub payload_hash: HashOutput,
    #[serde(default)]
    pub signatures: Vec<SignatureV2>,
}
#[derive(Deserialize)]
pub(crate) struct HashOutput {
    pub algorithm: String,
    pub digest: String,
}
#[derive(Deserialize)]
pub(crate) struct SignatureV2 {
    pub content: String,
    pub verifier: VerifierV2,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VerifierV2 {
    pub x509_certificate: Option<RawBytes>,
    pub public_key: Option<RawBytes>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawBytes {
    pub raw_bytes: String,
}

// intoto 0.0.2
#[derive(Deserialize)]
pub(crate) struct IntotoV2 {
    pub content: IntotoContent,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IntotoContent {
    pub envelope: IntotoEnvelope,
    pub payload_hash: HexHash,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IntotoEnvelope {
    pub payload: Option<String>,
    pub payload_type: String,
    #[serde(default)]
    pub signatures: Vec<IntotoSig>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IntotoSig {
    pub sig: String,
    pub public_key: String,
}

// dsse 0.0.1
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DsseV1 {
    pub payload_hash: HexHash,
    #[serde(default)]
    pub signatures: Vec<DsseV1Sig>,
}
#[derive(Deserialize)]
pub(crate) struct DsseV1Sig {
    pub signature: String,
    pub verifier: String,
}
