"""Text from captured content: decoding, main-text extraction, links, language."""
