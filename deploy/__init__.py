"""Running the app for a classroom: replicas, nginx in front, the local trial (see README)."""
