"""Writing the metadata, lexicons and folder layouts s3prl's task code expects but the pip package lacks."""
