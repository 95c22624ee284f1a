"""The pure domain: no AWS, no HTTP. Storage and transport are passed in."""
