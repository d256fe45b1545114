/** Configuration pieces several golden cases use. */
export const contactFields = [
  { attribute: 'customer_number', field: 'customerNo' },
  { attribute: 'first_name', field: 'firstName' },
];

export const meterRelation = {
  attribute: 'meters',
  relations: {
    operation: '_set',
    jsonataExpression: '[meters.{"entity_schema": "meter", "unique_ids": {"meter_number": id}}]',
  },
};

export const meterRef = (id: string) => ({ entity: `meter/${id}`, _schema: 'meter', _tags: [] });
