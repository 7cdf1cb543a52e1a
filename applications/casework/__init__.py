"""The clerks' side of applications, in one place.

- services.py: the writes (workflow actions, claim next, assign, internal notes);
- queue.py: the queue's selector (filters, counts per state, keyset pages);
- review.py: the case file's selector (what a reviewer sees of one application);
- views.py, urls.py: the casework pages under /casework/;
- api/: the casework API under /api/v1/queue/ (views, serializers, urls).
"""
