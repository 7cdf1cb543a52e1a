"""The Django forms of the builder pages, by page. They check the shape of what an
admin typed and turn it into the exchange format's JSON, keeping only the
settings that were filled in so the definition stays minimal. The rules about
the whole definition are the services' (version_update, version_publish)."""
