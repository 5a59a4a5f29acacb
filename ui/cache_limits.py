"""How long a classroom server keeps a cached value: the ttl of ui/cache.py's st.cache_* decorators.

Each cache's max_entries bounds how many values it holds at once; the ttl gives their memory
back after a lesson. st.cache_data's entries are also capped together by server.maxCacheDataSize
in .streamlit/config.toml. Fits are deterministic, so an expired one is simply fitted again.
"""
CACHE_TTL = "3h"
