//! Dates given to tasks as ISO-8601 text.

/// Reads an ISO-8601 date-time with an offset, with or without a `[Zone/Id]` suffix.
pub(crate) fn parse_date(
    property: &str,
    text: &str,
) -> Result<jiff::Timestamp, peregrine_plugin_api::TaskError> {
    let text = text.trim();
    text.parse::<jiff::Timestamp>()
        .or_else(|_| {
            text.parse::<jiff::ZonedDateTime>()
                .map(|zoned| zoned.timestamp())
        })
        .map_err(|error| peregrine_plugin_api::TaskError::Property {
            property: property.to_string(),
            message: format!("'{text}' is not a date-time with an offset: {error}"),
        })
}
