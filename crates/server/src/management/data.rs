//! Bytes through the management API: uploads streamed into the engine, data streamed out.

use axum::body::Body;
use axum::http::HeaderValue;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use tsunagu_engine::{ByteStream, DataStream};

/// A request body as the engine reads it: chunk by chunk, never whole in memory.
pub(crate) fn upload_stream(body: Body) -> ByteStream {
    Box::pin(body.into_data_stream().map_err(std::io::Error::other))
}

/// An answer that streams `data`, typed when its media type is known.
pub(crate) fn download(data: DataStream) -> Response {
    let media_type = data
        .media_type
        .as_deref()
        .and_then(|media_type| HeaderValue::from_str(media_type).ok())
        .unwrap_or_else(|| HeaderValue::from_static("application/octet-stream"));
    let mut response = Body::from_stream(data.body).into_response();
    response.headers_mut().insert(CONTENT_TYPE, media_type);
    if let Some(size) = data.size {
        response
            .headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from(size));
    }
    response
}
