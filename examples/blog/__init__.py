"""The blog app of the performance guide: users, posts and comments."""
