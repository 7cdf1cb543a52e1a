"""What residents file: applications, attachments, signatures, the workflow engine,
the clerk queue, receipts and decision documents. Built in issues #5 and #6."""
