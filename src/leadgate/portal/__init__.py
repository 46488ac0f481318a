"""The publisher's side of an instance, over every domain: the Publisher API (`/api/v1/publisher`,
its lead lane), the publisher portal, and the admin's pages about publishers (keys, people,
campaigns)."""
