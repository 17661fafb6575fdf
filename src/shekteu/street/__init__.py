"""Street ads: drug graffiti and QR stickers read from photos, and the spots they mark (issue 6)."""
