"""torch.distributed on colossus: importing this module registers the backend
"colossus" (placeholder: filled in by the backend work)."""
